"""The verification pages a person sees at verification_uri (RFC 8628 3.3).

Flow: GET /device (sign-in form if there is no session) -> POST /device/signin -> code entry
form (prefilled from ?user_code=) -> POST /device -> confirmation (client, scopes, warning)
-> POST /device/decide -> result. Every POST carries a CSRF token kept in the session.
Stable element ids for browser tests: #username #password #signin #user_code #continue
#approve #deny #result (its text contains approved / denied / expired / already used /
unknown / too many attempts; data-status has the same as a single word).
"""

import hmac
import logging
import secrets
import time

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for

from . import codes

log = logging.getLogger("authserver")
bp = Blueprint("device", __name__)

SCOPE_TEXT = {
    "openid": "sign you in (your account id)",
    "profile": "your name and username",
    "email": "your email address",
    "offline_access": "stay signed in (a refresh token)",
}

RESULTS = {
    # status: (title, message, good)
    "approved": ("Device connected", (
        "Device approved. Return to your device: it finishes signing in within a few "
        "seconds."), True),
    "denied": ("Request denied", "Request denied. The device was not given access.", False),
    "expired": ("Code expired", (
        "This code has expired. Start again on your device to get a new code."), False),
    "used": ("Code already used", (
        "This code was already used. Start again on your device if it is still waiting."),
        False),
    "unknown": ("Unknown code", (
        "That code is unknown. Check the code shown on your device and try again."), False),
    "too-many-attempts": ("Too many attempts", (
        "Too many attempts: wait %d seconds, then try again."), False),
    "bad-request": ("Invalid request", (
        "Invalid request: the form was stale or did not come from this site. Reload the "
        "page and try again."), False),
}


def _srv():
    return current_app.extensions["authserver"]


def _csrf_token():
    tok = session.get("csrf")
    if not tok:
        tok = session["csrf"] = secrets.token_urlsafe(24)
    return tok


def _csrf_ok():
    want = session.get("csrf")
    got = request.form.get("csrf_token", "")
    return bool(want) and hmac.compare_digest(want.encode(), got.encode())


def _user():
    name = session.get("user")
    if not name:
        return None
    user = _srv().store.get_user(name)
    return user if user and user["enabled"] else None


def _limit_keys(prefix):
    sid = session.get("sid")
    if not sid:
        sid = session["sid"] = secrets.token_hex(8)
    return (prefix + "ip:" + str(request.remote_addr), prefix + "sid:" + sid)


def _page(template, http_status=200, headers=None, **ctx):
    ctx.setdefault("user", _user())
    ctx["csrf_token"] = _csrf_token()
    return render_template(template + ".html", **ctx), http_status, headers or {}


def _result(status, code=200, wait=0, headers=None):
    title, message, good = RESULTS[status]
    if "%d" in message:
        message = message % wait
    return _page("result", code, headers, title=title, message=message, good=good,
                 status=status, again=status not in ("approved", "too-many-attempts"))


def _too_many(wait):
    return _result("too-many-attempts", 429, wait, {"Retry-After": str(wait)})


def _state(row, now):
    if row["status"] != "pending":
        return "used"
    if row["expires_at"] <= now:
        return "expired"
    return "pending"


@bp.get("/device")
def show():
    typed = request.args.get("user_code", "")[:20]
    if _user() is None:
        return _page("signin", title="Sign in", user_code=typed, username="")
    return _page("enter", title="Connect a device", user_code=typed)


@bp.post("/device/signin")
def signin():
    if not _csrf_ok():
        return _result("bad-request", 400)
    typed = request.form.get("user_code", "")[:20]
    username = request.form.get("username", "").strip()[:100]
    keys = _limit_keys("signin:")
    limiter = _srv().login_limiter
    wait = limiter.retry_after(keys)
    if wait:
        return _too_many(wait)
    user = _srv().store.check_password(username, request.form.get("password", "")[:200])
    if user is None:
        limiter.hit(keys)
        log.info("failed sign-in for %r", username)
        return _page("signin", title="Sign in", user_code=typed, username=username,
                     error="Wrong username or password.", user=None)
    session["user"] = user["username"]
    session["csrf"] = secrets.token_urlsafe(24)  # new privilege level, new token
    log.info("%s signed in", user["username"])
    return redirect(url_for(".show", user_code=typed or None), 303)


@bp.post("/device/signout")
def signout():
    if _csrf_ok():
        session.pop("user", None)
    return redirect(url_for(".show"), 303)


@bp.post("/device")
def enter():
    user = _user()
    typed = request.form.get("user_code", "")[:20]
    if user is None:
        return redirect(url_for(".show", user_code=typed or None), 303)
    if not _csrf_ok():
        return _result("bad-request", 400)
    srv = _srv()
    keys = _limit_keys("code:")
    wait = srv.code_limiter.retry_after(keys)
    if wait:
        log.info("user code entry blocked for %d s (too many wrong codes)", wait)
        return _too_many(wait)
    code = codes.normalize(typed)
    srv.apply_auto_decision()
    row = srv.store.device_by_user_code(code) if code else None
    if row is None:
        srv.code_limiter.hit(keys)
        log.info("unknown user code entered by %s", user["username"])
        return _page("enter", title="Unknown code", user_code=typed, result="unknown",
                     message=RESULTS["unknown"][1])
    state = _state(row, time.time())
    if state != "pending":
        return _result(state)
    scopes = [(s, SCOPE_TEXT.get(s, "access named " + s)) for s in row["scope"].split()]
    return _page("confirm", title="Allow this device?", display_code=codes.display(code),
                 client_id=row["client_id"], scopes=scopes)


@bp.post("/device/decide")
def decide():
    user = _user()
    if user is None:
        return redirect(url_for(".show"), 303)
    action = request.form.get("action")
    if not _csrf_ok() or action not in ("approve", "deny"):
        return _result("bad-request", 400)
    srv = _srv()
    code = codes.normalize(request.form.get("user_code", ""))
    srv.apply_auto_decision()
    now = time.time()
    if code and srv.store.decide(code, user["username"], action == "approve", now):
        status = "approved" if action == "approve" else "denied"
        log.info("%s %s user code %s", user["username"], status, codes.display(code))
        return _result(status)
    row = srv.store.device_by_user_code(code) if code else None
    return _result("unknown" if row is None else _state(row, now))
