"""The two endpoints a board talks to: ``POST /device/code`` and ``POST /device/token``.

RFC 8628 exactly, where the reference proxy (aaronpk's Device-Flow-Proxy-Server) is loose:
``verification_uri_complete``, configurable ``expires_in``/``interval``, ``slow_down`` on a
poll sooner than the code's interval (which then grows by 5 s, RFC 8628 3.5), ``access_denied``
once the user declined at the upstream, ``expired_token`` after the code's lifetime (for
EXPIRED_GRACE s, then ``invalid_grant`` like any unknown code), ``invalid_client`` when the
polling client_id is not the one the code was issued to, tokens delivered exactly once. The
``refresh_token`` grant is forwarded to the upstream with the proxy's own client credentials,
so the board needs this one token endpoint and no secret.

Never logged: device codes, tokens, refresh tokens. A pairing is named in logs by the first
12 hex digits of SHA-256(device code), which nobody can poll with.
"""

import json
import secrets
import time

from flask import Blueprint, current_app, jsonify, request

from . import logs
from .config import EXPIRED_GRACE, POLL_SLACK_MS, SLOW_DOWN_STEP, USER_CODE_ALPHABET
from .store import APPROVED, DENIED, StoreError, h
from .upstream import UpstreamError

bp = Blueprint("device", __name__)
GRANT = "urn:ietf:params:oauth:grant-type:device_code"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _ctx():
    return current_app.extensions["deviceproxy"]


def error(code, description=None, status=400, headers=None):
    body = {"error": code}
    if description:
        body["error_description"] = description
    h2 = dict(NO_STORE)
    h2.update(headers or {})
    return jsonify(body), status, h2


def new_user_code():
    return "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(8))


def show_code(code):
    return code[:4] + "-" + code[4:]


def _form_problem():
    if request.mimetype != "application/x-www-form-urlencoded":
        return "the request body must be application/x-www-form-urlencoded"
    if request.args:
        return "parameters belong in the request body, not the URL"
    for name in request.form:
        if len(request.form.getlist(name)) > 1:
            return "parameter %s is repeated" % name[:40]
    return None


def client_addr():
    return request.remote_addr or "?"


def rate_limited(bucket, rate):
    """None, or the seconds to wait: counts this request against ``rate`` = (n, window)."""
    n, left = _ctx().store.hit(bucket, rate[1])
    return left if n > rate[0] else None


@bp.post("/device/code")
def device_code():
    cx = _ctx()
    cfg = cx.cfg
    problem = _form_problem()
    if problem:
        return error("invalid_request", problem)
    client_id = request.form.get("client_id", "")
    if not client_id:
        return error("invalid_request", "client_id is missing")
    if client_id not in cfg.device_client_ids:
        logs.event("device_code_refused", reason="unknown client", client_id=client_id[:64])
        return error("invalid_client", "unknown client_id")
    wait = rate_limited("code:" + client_addr(), cfg.device_code_rate)
    if wait:
        logs.event("rate_limited", what="device_code", ip=client_addr())
        return error("slow_down", "too many device codes from this address", 429,
                     {"Retry-After": str(wait)})
    scope = " ".join(request.form.get("scope", "").split()) or " ".join(cfg.scopes)
    bad = [s for s in scope.split() if s not in cfg.scopes]
    if bad or len(scope) > 1000:
        return error("invalid_scope", "not offered by this proxy: " + " ".join(bad)[:200])
    code = secrets.token_urlsafe(32)  # 32 random bytes
    dkey = h(code)
    rec = {"client_id": client_id, "scope": scope, "expires_at": time.time() + cfg.expires_in}
    for _ in range(10):
        user_code = new_user_code()
        if cx.store.add_pairing(dkey, user_code, rec, cfg.interval,
                                cfg.expires_in + EXPIRED_GRACE, cfg.expires_in):
            break
    else:
        return error("temporarily_unavailable", "no free user code", 503)
    logs.event("device_code", pairing=dkey[:12], client_id=client_id, scope=scope)
    shown = show_code(user_code)
    body = {"device_code": code, "user_code": shown,
            "verification_uri": cfg.verification_uri,
            "verification_uri_complete": cfg.verification_uri + "?code=" + shown,
            "expires_in": cfg.expires_in, "interval": cfg.interval}
    return jsonify(body), 200, NO_STORE


@bp.post("/device/token")
def token():
    problem = _form_problem()
    if problem:
        return error("invalid_request", problem)
    grant = request.form.get("grant_type", "")
    client_id = request.form.get("client_id", "")
    if grant not in (GRANT, "refresh_token"):
        return error("unsupported_grant_type", "device_code or refresh_token")
    if not client_id:
        return error("invalid_request", "client_id is missing")
    if client_id not in _ctx().cfg.device_client_ids:
        return error("invalid_client", "unknown client_id")
    if grant == "refresh_token":
        return _refresh(client_id)
    code = request.form.get("device_code", "")
    if not code or len(code) > 200:
        return error("invalid_request", "device_code is missing")
    return poll(h(code), client_id)


def poll(dkey, client_id):
    st = _ctx().store
    rec, on_time = st.poll_view(dkey, client_id, POLL_SLACK_MS)  # one atomic round trip
    if rec is None:
        return error("invalid_grant", "unknown, used or long expired device_code")
    if not secrets.compare_digest(rec["client_id"], client_id):
        logs.event("poll_refused", pairing=dkey[:12], reason="client_id mismatch")
        return error("invalid_client", "this device_code was issued to another client")
    if rec["status"] == APPROVED:
        tokens = st.take_tokens(dkey)
        if tokens is None:  # another poll took them a moment ago
            return error("invalid_grant", "the tokens were already delivered")
        d = json.loads(tokens)
        issued = d.pop("_issued", None)
        if "expires_in" in d and issued:
            d["expires_in"] = max(0, int(d["expires_in"] - (time.time() - issued)))
        logs.event("tokens_delivered", pairing=dkey[:12])
        return jsonify(d), 200, NO_STORE
    if time.time() >= rec["expires_at"]:
        return error("expired_token", "the code expired: start again")
    if rec["status"] == DENIED:
        return error("access_denied", "the user declined")
    if not on_time:
        new = rec["interval"] + SLOW_DOWN_STEP
        st.slow_down(dkey, SLOW_DOWN_STEP, new * 1000 - POLL_SLACK_MS)
        logs.event("slow_down", pairing=dkey[:12], interval=new)
        return error("slow_down", "poll every %d s" % new)
    return error("authorization_pending", "waiting for the user")


def _refresh(client_id):
    cx = _ctx()
    rt = request.form.get("refresh_token", "")
    if not rt or len(rt) > 16384:
        return error("invalid_request", "refresh_token is missing")
    wait = rate_limited("refresh:" + client_addr(), cx.cfg.refresh_rate)
    if wait:
        return error("slow_down", "too many refresh requests", 429, {"Retry-After": str(wait)})
    scope = request.form.get("scope") or None
    try:
        tokens = cx.upstream.refresh(rt, scope)
    except UpstreamError as e:
        logs.event("refresh_failed", client_id=client_id, error=e.error, status=e.status,
                   reason=e.reason)
        if e.error == "temporarily_unavailable":
            return error("temporarily_unavailable", "the upstream server did not answer", 502)
        if e.error in ("invalid_grant", "invalid_scope"):  # the device's own problem
            return error(e.error, e.description, 400)
        # invalid_client & co. are the proxy's configuration, not the device's: never make a
        # fleet unpair over them; the board retries and the log says what is wrong
        return error("temporarily_unavailable", "the upstream refused the proxy", 502)
    logs.event("refreshed", client_id=client_id)
    return jsonify(tokens), 200, NO_STORE


def handle_store_error(e):
    logs.event("store_error", level="error", reason=str(e)[:200])
    return error("temporarily_unavailable", "storage unavailable", 503, {"Retry-After": "5"})


bp.register_error_handler(StoreError, handle_store_error)
