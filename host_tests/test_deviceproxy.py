"""The device-flow proxy over HTTP, as a board and a browser see it (tools/deviceproxy).

The proxy runs as in production (gunicorn, SQLite file) in front of a scripted upstream
(tools/deviceproxy/fakeupstream.py: authorization code + PKCE S256, client_secret_basic,
checks every parameter). A board is a few form POSTs; the user is a cookie jar walking the
proxy's pages and following the redirects through the upstream (proxy_stack.User). Every
RFC 8628 answer, the refresh path, CSRF, escaping, rate limits, the logs and the CLI.
"""

import json
import os
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest

from conftest import ROOT
from proxy_stack import GRANT, Proxy, User, device_code, form, poll, result_status
from tools.deviceproxy import fakeupstream
from tools.deviceproxy.upstream import Upstream, UpstreamError

DEVICE = "devicepair-sim"
OTHER = "other-device"
ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"


@pytest.fixture(scope="module")
def up():
    u = fakeupstream.FakeUpstream()
    yield u
    u.stop()


def _start(tmp, up, name, *args, secret_env=True):
    env = {"DEVICEPROXY_CLIENT_SECRET": up.client_secret} if secret_env else {}
    return Proxy(str(tmp / (name + ".log")),
                 ["--issuer", up.url, "--client-id", up.client_id, "--device-client-id",
                  DEVICE, "--device-client-id", OTHER,
                  "--store", "sqlite://" + str(tmp / (name + ".sqlite3"))] + list(args),
                 env=env)


@pytest.fixture(scope="module")
def px(tmp_path_factory, up):
    p = _start(tmp_path_factory.mktemp("px"), up, "main", "--interval", "1",
               "--expires-in", "60", "--device-code-rate", "1000/60", "--entry-rate",
               "1000/60")
    yield p
    p.stop()


def _issue(px, client=DEVICE, **extra):
    status, d, _ = device_code(px.url, client, **extra)
    assert status == 200, d
    return d


def _poll_until(px, d, client=DEVICE, want=None, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        status, body, _ = poll(px.url, d["device_code"], client)
        if want is None or body.get("error") == want or (want == "tokens" and status == 200):
            return status, body
        assert time.monotonic() < deadline, body
        time.sleep(d["interval"])


def _still_pending(px, d):
    # a poll sooner than the interval is slow_down: either way the code is waiting
    return poll(px.url, d["device_code"], DEVICE)[1]["error"] in ("authorization_pending",
                                                                  "slow_down")


def test_device_code_response_is_rfc8628(px):
    d = _issue(px, scope="openid profile")
    assert set(d) == {"device_code", "user_code", "verification_uri",
                      "verification_uri_complete", "expires_in", "interval"}
    assert d["expires_in"] == 60 and d["interval"] == 1
    assert re.match(r"^[%s]{4}-[%s]{4}$" % (ALPHABET, ALPHABET), d["user_code"])
    assert len(d["device_code"]) >= 43  # 32 random bytes, base64url
    assert d["verification_uri"] == px.url + "/device"
    assert d["verification_uri_complete"] == px.url + "/device?code=" + d["user_code"]
    assert _issue(px)["device_code"] != d["device_code"]


def test_device_code_refusals(px):
    assert device_code(px.url, "stranger")[1]["error"] == "invalid_client"
    assert device_code(px.url, DEVICE, scope="openid admin")[1]["error"] == "invalid_scope"
    status, body, _ = form(px.url + "/device/code?client_id=" + DEVICE, {"x": "1"})
    assert status == 400 and body["error"] == "invalid_request"


def test_pending_then_slow_down_grows_the_interval(px):
    d = _issue(px)
    status, body, _ = poll(px.url, d["device_code"], DEVICE)
    assert (status, body["error"]) == (400, "authorization_pending")
    assert poll(px.url, d["device_code"], DEVICE)[1]["error"] == "slow_down"
    time.sleep(1.1)  # the old interval has passed, the new one (1 + 5 s) has not
    assert poll(px.url, d["device_code"], DEVICE)[1]["error"] == "slow_down"


def test_approve_through_the_upstream_delivers_tokens_once(px, up):
    d = _issue(px)
    assert poll(px.url, d["device_code"], DEVICE)[1]["error"] == "authorization_pending"
    user = User()
    status, html = user.enter(d["verification_uri_complete"])
    assert status == 200
    assert re.search(r'id="client_id">%s<' % DEVICE, html)
    assert re.findall(r'data-scope="([a-z_]+)"', html) == ["openid", "profile",
                                                          "offline_access"]
    assert "in your\nhands" in html and 'id="warning"' in html
    n = len(up.authorize_queries)
    status, html = user.decide(px.url, html, "approve")
    assert status == 200 and result_status(html) == "approved", html
    q = up.authorize_queries[n]
    assert q["client_id"] == up.client_id and q["code_challenge_method"] == "S256"
    assert len(q["state"]) >= 43 and q["redirect_uri"] == px.url + "/auth/redirect"
    assert q["prompt"] == "consent"  # offline_access asked: a refresh token needs consent
    form_sent, auth = up.seen[-1]
    assert form_sent["grant_type"] == "authorization_code" and auth.startswith("Basic ")
    assert "client_secret" not in form_sent and len(form_sent["code_verifier"]) >= 43
    time.sleep(d["interval"])
    status, tokens, headers = poll(px.url, d["device_code"], DEVICE)
    assert status == 200 and headers["Cache-Control"] == "no-store"
    assert set(tokens) == {"access_token", "token_type", "expires_in", "refresh_token",
                           "scope"}  # the upstream's extra field does not reach the board
    assert tokens["access_token"] in up.access_tokens and 3590 <= tokens["expires_in"] <= 3600
    time.sleep(d["interval"])
    assert poll(px.url, d["device_code"], DEVICE)[1]["error"] == "invalid_grant"  # used
    # the code cannot be entered again either
    status, html = user.enter(d["verification_uri_complete"])
    assert status == 400 and "unknown or has expired" in html


def test_decline_at_upstream_is_access_denied(px, up):
    d = _issue(px)
    up.decide = lambda q: "deny"
    try:
        status, html = User().approve(d)
    finally:
        up.decide = lambda q: "approve"
    assert result_status(html) == "denied"
    assert _poll_until(px, d)[1]["error"] == "access_denied"


def test_deny_on_the_proxy_page_is_access_denied(px):
    d = _issue(px)
    n = len(px.events("upstream_authorize"))
    assert result_status(User().approve(d, "deny")[1]) == "denied"
    assert len(px.events("upstream_authorize")) == n  # never sent to the upstream
    assert _poll_until(px, d)[1]["error"] == "access_denied"


def test_wrong_client_unknown_and_garbage_codes(px):
    d = _issue(px)
    status, body, _ = poll(px.url, d["device_code"], OTHER)
    assert (status, body["error"]) == (400, "invalid_client")
    assert poll(px.url, d["device_code"], "stranger")[1]["error"] == "invalid_client"
    assert poll(px.url, "x" * 43, DEVICE)[1]["error"] == "invalid_grant"
    assert poll(px.url, "", DEVICE)[1]["error"] == "invalid_request"
    status, body, _ = form(px.url + "/device/token", {"grant_type": "password",
                                                      "client_id": DEVICE})
    assert body["error"] == "unsupported_grant_type"
    status, body, _ = form(px.url + "/device/token", {"grant_type": GRANT, "client_id": DEVICE,
                                                      "device_code": "a" * 100000})
    assert status == 413 and body["error"] == "invalid_request"
    # the right client still polls fine after all that
    assert poll(px.url, d["device_code"], DEVICE)[1]["error"] == "authorization_pending"


def test_refresh_is_forwarded_with_the_proxys_secret(px, up):
    d = _issue(px)
    User().approve(d)
    time.sleep(d["interval"])
    tokens = poll(px.url, d["device_code"], DEVICE)[1]
    status, new, _ = form(px.url + "/device/token", {
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
        "client_id": DEVICE})
    assert status == 200 and new["refresh_token"] != tokens["refresh_token"]
    sent, auth = up.seen[-1]
    assert sent == {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    assert auth.startswith("Basic ")
    # the rotated-away token is the device's problem: invalid_grant (pair again)
    status, body, _ = form(px.url + "/device/token", {
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
        "client_id": DEVICE})
    assert (status, body["error"]) == (400, "invalid_grant")
    # an upstream that refuses the proxy itself must not unpair the fleet: 502, retried
    for mode in ("invalid_client", "garbage", "500"):
        up.mode = mode
        try:
            status, body, _ = form(px.url + "/device/token", {
                "grant_type": "refresh_token", "refresh_token": new["refresh_token"],
                "client_id": DEVICE})
        finally:
            up.mode = None
        assert (status, body["error"]) == (502, "temporarily_unavailable"), mode
    assert form(px.url + "/device/token", {"grant_type": "refresh_token",
                                           "refresh_token": new["refresh_token"],
                                           "client_id": "stranger"})[1]["error"] == \
        "invalid_client"


def test_hostile_upstream_token_answers_leave_the_code_pending(px, up):
    d = _issue(px)
    for mode in ("garbage", "huge", "500"):
        up.mode = mode
        try:
            status, html = User().approve(d)
        finally:
            up.mode = None
        assert status == 502 and result_status(html) == "error", (mode, html)
    assert _poll_until(px, d)[1]["error"] == "authorization_pending"
    assert result_status(User().approve(d)[1]) == "approved"  # the user can try again


def test_csrf_and_state_are_bound_to_the_browser(px, up):
    d = _issue(px)
    alice, mallory = User(), User()
    status, html = mallory.open(d["verification_uri_complete"])
    # a form posted without, or with another browser's, CSRF token is refused
    for fields in ({"user_code": d["user_code"]},
                   {"user_code": d["user_code"], "csrf": mallory.csrf(html)}):
        status, page = alice.open(px.url + "/device", fields)
        assert status == 400 and result_status(page) == "session"
    status, page = alice.open(px.url + "/device/approve", {
        "user_code": d["user_code"], "action": "deny", "csrf": mallory.csrf(html)})
    assert result_status(page) == "session"
    assert _still_pending(px, d)
    # the upstream's redirect is only accepted in the browser that started it, and once
    captured = []
    up.decide = lambda q: captured.append(q) or "hold"
    try:
        alice.decide(px.url, alice.enter(d["verification_uri_complete"])[1])
    finally:
        up.decide = lambda q: "approve"
    back = px.url + "/auth/redirect?" + urllib.parse.urlencode(
        {"state": captured[0]["state"], "code": "stolen"})
    assert result_status(mallory.open(back)[1]) == "unknown"
    assert result_status(alice.open(back)[1]) == "unknown"  # used up by that attempt
    assert _still_pending(px, d)
    assert result_status(alice.approve(d)[1]) == "approved"  # a fresh sign-in works


def test_everything_shown_is_escaped(px):
    user = User()
    evil = '"><script>alert(1)</script>'
    status, html = user.open(px.url + "/device?code=" + urllib.parse.quote(evil))
    assert status == 200 and "<script>" not in html and "&lt;script&gt;alert(1)" in html
    status, html = user.open(px.url + "/device", {"csrf": user.csrf(html), "user_code": evil})
    assert status == 400 and "<script>" not in html
    assert result_status(user.open(px.url + "/auth/redirect?state=%3Cscript%3E")[1]) == \
        "unknown"
    with urllib.request.urlopen(px.url + "/device", timeout=5) as r:
        resp_csp = r.headers["Content-Security-Policy"]
        assert r.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'none'" in resp_csp and "frame-ancestors 'none'" in resp_csp


def test_code_entry_is_normalised(px):
    d = _issue(px)
    user = User()
    status, html = user.open(px.url + "/device")
    raw = " " + d["user_code"].replace("-", "").lower()[:4] + " " + \
        d["user_code"].replace("-", "").lower()[4:] + " "
    status, html = user.open(px.url + "/device", {"csrf": user.csrf(html), "user_code": raw})
    assert status == 200 and 'id="approve"' in html


def test_discovery_document(px, up):
    with urllib.request.urlopen(px.url + "/.well-known/openid-configuration", timeout=5) as r:
        doc = json.load(r)
    assert doc["issuer"] == px.url
    assert doc["device_authorization_endpoint"] == px.url + "/device/code"
    assert doc["token_endpoint"] == px.url + "/device/token"
    assert doc["grant_types_supported"] == [GRANT, "refresh_token"]
    assert doc["userinfo_endpoint"] == up.url + "/userinfo"
    with urllib.request.urlopen(px.url + "/.well-known/oauth-authorization-server") as r:
        assert json.load(r) == doc


def test_logs_are_json_and_hold_no_secret(px, up):
    d = _issue(px)
    User().approve(d)
    time.sleep(d["interval"])
    tokens = poll(px.url, d["device_code"], DEVICE)[1]
    form(px.url + "/device/token", {"grant_type": "refresh_token", "client_id": DEVICE,
                                    "refresh_token": tokens["refresh_token"]})
    log = px.log()
    lines = [json.loads(ln) for ln in log.splitlines() if ln]  # every line, gunicorn's too
    assert {"device_code", "approved", "tokens_delivered", "refreshed"} <= \
        {ln["event"] for ln in lines}
    assert all(ln["path"].count("?") == 0 for ln in lines if ln["event"] == "request")
    secrets_seen = [d["device_code"], d["user_code"], d["user_code"].replace("-", ""),
                    tokens["access_token"], tokens["refresh_token"], up.client_secret]
    secrets_seen += [q["state"] for q in up.authorize_queries]
    secrets_seen += [s[0].get("code") for s in up.seen if s[0].get("code")]
    secrets_seen += [s[0].get("code_verifier") for s in up.seen if s[0].get("code_verifier")]
    for s in secrets_seen:
        assert s not in log


@pytest.fixture(scope="module")
def strict(tmp_path_factory, up):
    tmp = tmp_path_factory.mktemp("strict")
    secret = tmp / "secret"
    secret.write_text(up.client_secret + "\n")
    p = _start(tmp, up, "strict", "--interval", "1", "--expires-in", "2",
               "--client-secret-file", str(secret), secret_env=False)
    yield p
    p.stop()


def test_expired_token_after_expires_in(strict):
    d = _issue(strict)
    assert d["expires_in"] == 2
    time.sleep(2.2)
    assert poll(strict.url, d["device_code"], DEVICE)[1]["error"] == "expired_token"
    status, html = User().enter(d["verification_uri_complete"])
    assert status == 400  # the code can no longer be entered


def test_rate_limits_on_device_code_and_code_entry(tmp_path, up):
    strict = _start(tmp_path, up, "limits", "--device-code-rate", "3/60", "--entry-rate",
                    "3/60")
    try:
        _limits(strict)
    finally:
        strict.stop()


def _limits(strict):
    results = [device_code(strict.url, DEVICE) for _ in range(4)]
    assert [r[0] for r in results] == [200, 200, 200, 429]
    assert results[-1][1]["error"] == "slow_down" and int(results[-1][2]["Retry-After"]) >= 1
    user = User()
    status, html = user.open(strict.url + "/device")
    token = user.csrf(html)
    codes = [user.open(strict.url + "/device", {"csrf": token, "user_code": "BBBB-BBBB"})[0]
             for _ in range(4)]
    assert codes == [400, 400, 400, 429]
    # per address, not per browser: a fresh cookie jar is limited too
    other = User()
    status, html = other.open(strict.url + "/device")
    status, html = other.open(strict.url + "/device", {"csrf": other.csrf(html),
                                                       "user_code": "BBBB-BBBB"})
    assert status == 429 and result_status(html) == "limited"


# -- the command line ---------------------------------------------------------------------
def _cli(*args, env=None):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "tools.deviceproxy"] + list(args), cwd=ROOT,
                          capture_output=True, text=True, timeout=30, env=e)


def test_help_documents_every_option_and_the_readme_too():
    from tools.deviceproxy.cli import build_parser

    out = _cli("--help").stdout
    readme = open(os.path.join(ROOT, "tools", "deviceproxy", "README.md")).read()
    for action in build_parser()._actions:
        for opt in action.option_strings:
            if opt.startswith("--") and opt != "--help":
                assert opt in out
                assert action.help and len(action.help) > 15, opt
                assert "`%s" % opt in readme, opt


def test_cli_refuses_what_it_cannot_serve(tmp_path, up):
    r = _cli("--issuer", up.url, "--client-id", "x", "--host", "0.0.0.0")
    assert r.returncode == 2 and "not a loopback address" in r.stderr
    r = _cli("--issuer", "http://127.0.0.1:9/nothing", "--client-id", "x", "--port", "0")
    assert r.returncode == 1 and "deviceproxy: upstream: discovery:" in r.stderr
    assert "Traceback" not in r.stderr
    r = _cli("--issuer", "http://example.com", "--client-id", "x", "--port", "0")
    assert r.returncode == 1 and "must be https://" in r.stderr
    r = _cli("--client-id", "x", "--port", "0")
    assert r.returncode == 1 and "give --issuer" in r.stderr
    r = _cli("--issuer", up.url, "--client-id", "x", "--port", "0", "--store",
             "redis://127.0.0.1:9/0")
    assert r.returncode == 1 and "deviceproxy: store" in r.stderr and "Traceback" not in r.stderr


def test_explicit_endpoints_and_client_secret_post(tmp_path, up):
    up.auth_method = "post"
    p = Proxy(str(tmp_path / "explicit.log"),
              ["--authorization-endpoint", up.url + "/authorize", "--token-endpoint",
               up.url + "/token", "--userinfo-endpoint", up.url + "/userinfo", "--client-id",
               up.client_id, "--client-auth", "post", "--device-client-id", DEVICE,
               "--interval", "1", "--store", "sqlite://" + str(tmp_path / "e.sqlite3")],
              env={"DEVICEPROXY_CLIENT_SECRET": up.client_secret})
    try:
        d = _issue(p)
        assert result_status(User().approve(d)[1]) == "approved"
        sent, auth = up.seen[-1]
        assert auth is None and sent["client_secret"] == up.client_secret
        time.sleep(1)
        assert poll(p.url, d["device_code"], DEVICE)[0] == 200
        with urllib.request.urlopen(p.url + "/.well-known/openid-configuration") as r:
            assert json.load(r)["userinfo_endpoint"] == up.url + "/userinfo"
    finally:
        up.auth_method = "basic"
        p.stop()


def test_upstream_discovery_is_checked(up):
    up.rfc8414_only = True
    try:  # no OIDC document: the RFC 8414 metadata is used
        u = Upstream.discover(up.url, "x")
        assert u.token_endpoint == up.url + "/token" and u.issuer == up.url
    finally:
        up.rfc8414_only = False
    bad = {b"<html>": "not JSON", b"[1]": "not a JSON object",
           json.dumps(dict(up.discovery(), issuer="https://evil.example")).encode(): "is not",
           json.dumps(dict(up.discovery(), code_challenge_methods_supported=["plain"]))
           .encode(): "PKCE S256",
           json.dumps(dict(up.discovery(), token_endpoint="ftp://x")).encode(): "https://",
           b"{" + b" " * (300 * 1024) + b"}": "over"}
    for body, why in bad.items():
        up.discovery_body = body
        try:
            with pytest.raises(UpstreamError) as e:
                Upstream.discover(up.url, "x")
        finally:
            up.discovery_body = None
        assert why in e.value.reason, (body[:40], e.value.reason)


def test_the_approve_form_cannot_be_used_to_guess_codes(tmp_path, up):
    p = _start(tmp_path, up, "guess", "--entry-rate", "3/60")
    try:
        d = _issue(p)
        user = User()
        status, confirm = user.enter(d["verification_uri_complete"])
        token = user.csrf(confirm)  # a real approve token, for guessing other codes with
        statuses = [user.open(p.url + "/device/approve", {
            "csrf": token, "user_code": guess, "action": "deny"})[0]
            for guess in ("CCCC-CCCC", "DDDD-DDDD", "FFFF-FFFF", d["user_code"])]
        assert statuses == [400, 400, 400, 429]
        assert poll(p.url, d["device_code"], DEVICE)[1]["error"] == "authorization_pending"
    finally:
        p.stop()
