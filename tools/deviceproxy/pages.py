"""The browser side: enter or confirm the code, then the upstream's own sign-in, then back.

``GET /device[?code=XXXX-XXXX]`` shows the code form (prefilled from
``verification_uri_complete``); ``POST /device`` looks the code up and shows which device
(client id) and which scopes are asking, with a warning to approve only a device in your
hands; ``POST /device/approve`` either declines at once or sends the browser to the upstream
authorization endpoint with ``state`` and PKCE S256; ``GET /auth/redirect`` takes the
upstream's answer, exchanges the code (the verifier and any client secret never leave the
proxy) and stores the tokens for the device's next poll - or ``access_denied`` when the user
declined at the upstream.

Every form carries a CSRF token: HMAC-SHA256 of the browser's random session cookie
(HttpOnly, SameSite=Lax) under the secret kept in storage, so every instance checks every
other's. The sign-in ``state`` is bound to the same session. Wrong codes are counted per client
address (a 429 page with Retry-After past the limit). Jinja autoescapes everything shown.
Stable element ids for browser tests: #user_code #continue #client_id #scopes #warning
#approve #deny #result (its data-status is approved / denied / expired / unknown / error /
limited / session).
"""

import hashlib
import hmac
import json
import secrets
import time
import urllib.parse

from flask import Blueprint, current_app, make_response, redirect, render_template_string, request

from . import logs
from .config import USER_CODE_ALPHABET
from .device import client_addr, show_code
from .store import APPROVED, DENIED, PENDING, StoreError, h
from .upstream import UpstreamError, pkce_pair

bp = Blueprint("pages", __name__)
COOKIE = "deviceproxy_sid"

SCOPE_TEXT = {
    "openid": "sign in with your account (your account id)",
    "profile": "your name and username",
    "email": "your email address",
    "offline_access": "stay signed in (a refresh token)",
}

BASE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} - device sign-in</title>
<style>body{font-family:system-ui,sans-serif;max-width:30em;margin:2em auto;padding:0 1em}
input,button{font-size:1.2em;padding:.3em}#user_code{letter-spacing:.15em;width:10em}
.warn{background:#fff3cd;padding:.6em;border-left:4px solid #c90}code{font-size:1.1em}
</style></head><body><h1>{{ title }}</h1>
{% block body %}{% endblock %}
</body></html>"""

ENTER = """{% extends base %}{% block body %}
{% if problem %}<p id="problem">{{ problem }}</p>{% endif %}
<form method="post" action="{{ action }}">
<input type="hidden" name="csrf" value="{{ csrf }}">
<label for="user_code">Code shown on your device</label><br>
<input id="user_code" name="user_code" value="{{ code }}" autocomplete="off"
 autocapitalize="characters" spellcheck="false" maxlength="20" autofocus>
<button id="continue" type="submit">Continue</button>
</form>{% endblock %}"""

CONFIRM = """{% extends base %}{% block body %}
<p>The device <strong id="client_id">{{ client_id }}</strong> showing the code
<code id="confirm_code">{{ code }}</code> asks for:</p>
<ul id="scopes">{% for s, text in scopes %}<li data-scope="{{ s }}"><code>{{ s }}</code>
{{ text }}</li>{% endfor %}</ul>
<p id="warning" class="warn">Only continue if you started this on a device that is in your
hands right now. Someone may have sent you this code to get into your account.</p>
<form method="post" action="{{ action }}">
<input type="hidden" name="csrf" value="{{ csrf }}">
<input type="hidden" name="user_code" value="{{ code }}">
<button id="approve" name="action" value="approve" type="submit">Continue to sign in</button>
<button id="deny" name="action" value="deny" type="submit">Deny</button>
</form>{% endblock %}"""

RESULT = """{% extends base %}{% block body %}
<p id="result" data-status="{{ status }}">{{ message }}</p>
{% if again %}<p><a id="again" href="{{ again }}">Enter a code</a></p>{% endif %}
{% endblock %}"""

RESULTS = {
    "approved": ("Device connected", "Approved. Return to your device: it finishes signing in "
                 "within a few seconds.", 200),
    "denied": ("Request denied", "Denied. The device was not given access.", 200),
    "expired": ("Code expired", "This code has expired or was already used. Start again on "
                "your device.", 400),
    "unknown": ("Unknown code", "This sign-in link is unknown, expired or was already used. "
                "Start again on your device.", 400),
    "error": ("Sign-in failed", "The sign-in server answered with an error: {detail}. "
              "Try again from the code page.", 502),
    "limited": ("Too many attempts", "Too many attempts. Wait {detail} s and try again.", 429),
    "session": ("Session expired", "This page has expired (its security check failed). "
                "Open the code page again.", 400),
}


def _ctx():
    return current_app.extensions["deviceproxy"]


def _render(tmpl, http_status=200, **kw):
    base = current_app.jinja_env.from_string(BASE)
    html = render_template_string(tmpl, base=base, **kw)
    return make_response(html, http_status)


def _sid():
    sid = request.cookies.get(COOKIE, "")
    return sid if 20 <= len(sid) <= 64 and sid.isalnum() else None


def _csrf(sid, purpose):
    key = _ctx().secret.encode()
    return hmac.new(key, ("%s|%s" % (sid, purpose)).encode(), hashlib.sha256).hexdigest()


def _csrf_ok(purpose):
    sid = _sid()
    given = request.form.get("csrf", "")
    return sid is not None and hmac.compare_digest(given.encode(), _csrf(sid, purpose).encode())


def _with_sid(resp, sid):
    secure = _ctx().cfg.public_url.startswith("https://")
    resp.set_cookie(COOKIE, sid, httponly=True, samesite="Lax", secure=secure, path="/")
    return resp


def normalise(text):
    """'abcd-efgh', ' ABCD EFGH ' -> 'ABCDEFGH'; None if it cannot be a code of ours."""
    s = "".join(ch for ch in (text or "")[:40] if ch not in "- \t").upper()
    if len(s) != 8 or any(ch not in USER_CODE_ALPHABET for ch in s):
        return None
    return s


def result(status, detail="", headers=None):
    title, message, code = RESULTS[status]
    again = _ctx().cfg.public_url + "/device" if status not in ("approved", "denied") else None
    resp = _render(RESULT, code, title=title, status=status,
                   message=message.format(detail=detail), again=again)
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def _entry_blocked():
    n, left = _ctx().store.count("entry:" + client_addr())
    return left if n >= _ctx().cfg.entry_rate[0] else None


@bp.get("/device")
def enter():
    sid = _sid() or secrets.token_hex(16)
    raw = request.args.get("code") or request.args.get("user_code") or ""
    code = normalise(raw)
    shown = show_code(code) if code else raw[:20]
    resp = _render(ENTER, title="Connect a device", code=shown, csrf=_csrf(sid, "enter"),
                   action=_ctx().cfg.public_url + "/device", problem=None)
    return _with_sid(resp, sid)


@bp.post("/device")
def enter_post():
    if not _csrf_ok("enter"):
        return result("session")
    wait = _entry_blocked()
    if wait:
        logs.event("rate_limited", what="code_entry", ip=client_addr())
        return result("limited", wait, {"Retry-After": str(wait)})
    code = normalise(request.form.get("user_code"))
    rec = _ctx().store.pairing_by_user_code(code) if code else None
    if rec is None or rec["status"] != PENDING or time.time() >= rec["expires_at"]:
        _ctx().store.hit("entry:" + client_addr(), _ctx().cfg.entry_rate[1])
        logs.event("code_entry_failed", ip=client_addr())
        resp = _render(ENTER, 400, title="Connect a device", code=request.form.get(
            "user_code", "")[:20], csrf=_csrf(_sid(), "enter"),
            action=_ctx().cfg.public_url + "/device",
            problem="That code is unknown or has expired. Check it on your device.")
        return resp
    scopes = [(s, SCOPE_TEXT.get(s, "")) for s in rec["scope"].split()]
    return _render(CONFIRM, title="Connect a device?", client_id=rec["client_id"],
                   code=show_code(code), scopes=scopes, csrf=_csrf(_sid(), "approve"),
                   action=_ctx().cfg.public_url + "/device/approve")


@bp.post("/device/approve")
def approve():
    cx = _ctx()
    if not _csrf_ok("approve"):
        return result("session")
    wait = _entry_blocked()  # this form takes a code too: the same limit as code entry
    if wait:
        logs.event("rate_limited", what="code_entry", ip=client_addr())
        return result("limited", wait, {"Retry-After": str(wait)})
    code = normalise(request.form.get("user_code"))
    rec = cx.store.pairing_by_user_code(code) if code else None
    if rec is None or rec["status"] != PENDING or time.time() >= rec["expires_at"]:
        cx.store.hit("entry:" + client_addr(), cx.cfg.entry_rate[1])
        logs.event("code_entry_failed", ip=client_addr())
        return result("expired")
    dkey = rec["dkey"]
    if request.form.get("action") != "approve":
        cx.store.finish(dkey, DENIED, None, cx.cfg.expires_in + 600)
        logs.event("denied", pairing=dkey[:12], where="proxy")
        return result("denied")
    state = secrets.token_urlsafe(32)
    verifier, challenge = pkce_pair()
    left = max(1, int(rec["expires_at"] - time.time()))
    cx.store.put_state(h(state), {"dkey": dkey, "verifier": verifier,
                                  "sid": h(_sid())}, left)
    logs.event("upstream_authorize", pairing=dkey[:12])
    return redirect(cx.upstream.authorize_url(cx.cfg.redirect_uri, rec["scope"], state,
                                              challenge), 303)


@bp.get("/auth/redirect")
def back():
    cx = _ctx()
    state = request.args.get("state", "")
    st = cx.store.take_state(h(state)) if 0 < len(state) <= 200 else None
    sid = _sid()
    if st is None or sid is None or not hmac.compare_digest(st["sid"], h(sid)):
        logs.event("redirect_refused", reason="unknown state or other browser")
        return result("unknown")
    dkey = st["dkey"]
    err = request.args.get("error")
    if err:
        if err == "access_denied":
            cx.store.finish(dkey, DENIED, None, cx.cfg.expires_in + 600)
            logs.event("denied", pairing=dkey[:12], where="upstream")
            return result("denied")
        shown = "".join(ch for ch in err[:40] if ch.isalnum() or ch in "_-.")
        logs.event("upstream_error", pairing=dkey[:12], error=shown)
        return result("error", shown)
    code = request.args.get("code", "")
    if not code or len(code) > 2048:
        return result("error", "no authorization code")
    rec = cx.store.pairing(dkey)
    if rec is None or rec["status"] != PENDING or time.time() >= rec["expires_at"]:
        return result("expired")
    try:
        tokens = cx.upstream.exchange_code(code, cx.cfg.redirect_uri, st["verifier"])
    except UpstreamError as e:
        logs.event("exchange_failed", pairing=dkey[:12], error=e.error, status=e.status,
                   reason=e.reason)
        return result("error", e.error)
    tokens["_issued"] = time.time()
    if not cx.store.finish(dkey, APPROVED, json.dumps(tokens), cx.cfg.token_ttl):
        return result("expired")
    logs.event("approved", pairing=dkey[:12])
    return result("approved")


def origin(url):
    u = urllib.parse.urlsplit(url)
    return "%s://%s" % (u.scheme, u.netloc)


@bp.errorhandler(StoreError)
def store_down(e):
    logs.event("store_error", level="error", reason=str(e)[:200])
    return make_response("Storage unavailable, try again in a moment.", 503,
                         {"Retry-After": "5", "Content-Type": "text/plain"})
