"""tools/authserver: the local RFC 8628 authorization server, driven over real HTTP.

Each server is a subprocess on 127.0.0.1 with --port 0 and a temp database; its first stdout
line gives the URL; fixture finalizers always stop it. The verification pages are driven
like a browser would (cookie jar, CSRF tokens, redirects). Real sleeping: ~1.1 s in total.
"""

import base64
import hashlib
import http.cookiejar
import json
import os
import re
import selectors
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "tools", "authserver.py")
CLIENT = "devicepair-sim"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
SCOPE = "openid profile offline_access"
USER_CODE_RE = re.compile("^[%s]{4}-[%s]{4}$" % (ALPHABET, ALPHABET))


class AuthServer:
    """One authserver subprocess; stop() always ends it."""

    def __init__(self, workdir, args=(), db=None):
        self.db = db or os.path.join(str(workdir), "auth.sqlite3")
        fd, self.log_path = _mkstemp(workdir, "stderr")
        self._err = os.fdopen(fd, "w+")
        self.proc = subprocess.Popen(
            [sys.executable, SCRIPT, "--port", "0", "--db", self.db] + list(args),
            stdout=subprocess.PIPE, stderr=self._err, text=True, cwd=ROOT,
        )
        try:
            line = self._first_line(15)
            m = re.match(r"^authserver listening on (http://127\.0\.0\.1:(\d+))\n$", line)
            assert m, "unexpected first line %r; stderr:\n%s" % (line, self.stderr())
            self.url = m.group(1)
        except BaseException:
            self.stop()
            raise

    def _first_line(self, timeout):
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        try:
            if not sel.select(timeout):
                raise AssertionError("no URL line within %ss; stderr:\n%s"
                                     % (timeout, self.stderr()))
        finally:
            sel.close()
        return self.proc.stdout.readline()

    def stderr(self):
        with open(self.log_path) as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc.stdout.close()
        self._err.close()


def _mkstemp(workdir, prefix):
    import tempfile
    return tempfile.mkstemp(prefix=prefix, suffix=".log", dir=str(workdir))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = AuthServer(tmp_path_factory.mktemp("authserver"), ["--interval", "1"])
    yield srv
    srv.stop()


@pytest.fixture
def start_server(tmp_path):
    started = []

    def start(*args, db=None):
        srv = AuthServer(tmp_path, args, db)
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.stop()


# -- HTTP helpers ------------------------------------------------------------------------------

def request(url, data=None, headers=None, method=None):
    """(status, headers, body text); form-encodes dict data; never raises on 4xx/5xx."""
    body = urllib.parse.urlencode(data).encode() if isinstance(data, dict) else data
    req = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.headers, resp.read().decode()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, err.headers, err.read().decode()


def fetch_json(url, data=None, headers=None):
    status, _, body = request(url, data, headers)
    return status, json.loads(body)


def start_pairing(srv, scope=SCOPE):
    status, data = fetch_json(srv.url + "/device_authorization",
                             {"client_id": CLIENT, "scope": scope})
    assert status == 200, data
    return data


def poll(srv, device_code, client_id=CLIENT):
    return fetch_json(srv.url + "/token", {"grant_type": DEVICE_GRANT,
                                          "device_code": device_code, "client_id": client_id})


def refresh(srv, refresh_token):
    return fetch_json(srv.url + "/token", {"grant_type": "refresh_token",
                                          "refresh_token": refresh_token, "client_id": CLIENT})


class _KeepErrors(urllib.request.HTTPErrorProcessor):
    def http_response(self, req, resp):
        return resp if resp.status >= 400 else super().http_response(req, resp)


class Browser:
    """Cookie jar + redirects, like a person's browser on the verification page."""

    def __init__(self):
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _KeepErrors())

    def open(self, url, form=None):
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        with self.opener.open(url, data=data, timeout=10) as resp:
            self.url = resp.geturl()
            self.headers = resp.headers
            return resp.status, resp.read().decode()

    def sign_in(self, srv, start_url=None, username="demo", password="demo"):
        status, html = self.open(start_url or srv.url + "/device")
        assert status == 200 and 'id="signin"' in html
        form = dict(hidden_fields(html), username=username, password=password)
        return self.open(srv.url + "/device/signin", form)

    def enter_code(self, srv, html, typed):
        return self.open(srv.url + "/device", dict(hidden_fields(html), user_code=typed))

    def decide(self, srv, html, action):
        return self.open(srv.url + "/device/decide", dict(hidden_fields(html), action=action))


def hidden_fields(html):
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))


def input_value(html, elem_id):
    m = re.search(r'<input[^>]*id="%s"[^>]*value="([^"]*)"' % elem_id, html)
    return m and m.group(1)


def result(html):
    m = re.search(r'id="result"[^>]*>\s*(.*?)\s*</p>', html, re.DOTALL)
    assert m, "no #result in page:\n" + html
    return m.group(1).lower()


def approve_via_web(srv, user_code, action="approve", typed=None):
    """Sign in, enter the code, approve or deny; returns the final page."""
    b = Browser()
    status, html = b.sign_in(srv)
    assert status == 200 and 'id="user_code"' in html, html
    status, html = b.enter_code(srv, html, typed or user_code)
    assert status == 200 and 'id="%s"' % action in html, html
    return b.decide(srv, html, action)


def paired_tokens(srv, scope=SCOPE):
    dev = start_pairing(srv, scope)
    status, html = approve_via_web(srv, dev["user_code"])
    assert "approved" in result(html)
    status, tok = poll(srv, dev["device_code"])
    assert status == 200, tok
    return tok


def b64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def verify_id_token(srv, id_token):
    """Check the RS256 signature against /jwks.json; returns (header, claims)."""
    head_b64, claims_b64, sig_b64 = id_token.split(".")
    header = json.loads(b64url(head_b64))
    status, jwks = fetch_json(srv.url + "/jwks.json")
    assert status == 200
    (jwk,) = [k for k in jwks["keys"] if k["kid"] == header["kid"]]
    assert "d" not in jwk, "JWKS must not publish the private key"
    pub = rsa.RSAPublicNumbers(int.from_bytes(b64url(jwk["e"]), "big"),
                               int.from_bytes(b64url(jwk["n"]), "big")).public_key()
    pub.verify(b64url(sig_b64), (head_b64 + "." + claims_b64).encode(), padding.PKCS1v15(),
               hashes.SHA256())
    return header, json.loads(b64url(claims_b64))


# -- tests -------------------------------------------------------------------------------------

def test_discovery_document(server):
    status, doc = fetch_json(server.url + "/.well-known/openid-configuration")
    assert status == 200
    assert doc["issuer"] == server.url
    for field, path in (("device_authorization_endpoint", "/device_authorization"),
                        ("token_endpoint", "/token"), ("userinfo_endpoint", "/userinfo"),
                        ("revocation_endpoint", "/revoke"), ("jwks_uri", "/jwks.json")):
        assert doc[field] == server.url + path
    assert set(doc["grant_types_supported"]) == {DEVICE_GRANT, "refresh_token"}
    assert doc["token_endpoint_auth_methods_supported"] == ["none"]
    assert "openid" in doc["scopes_supported"]


def test_device_authorization_response(server):
    status, headers, body = request(server.url + "/device_authorization",
                                    {"client_id": CLIENT, "scope": SCOPE})
    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    assert headers["Cache-Control"] == "no-store"
    data = json.loads(body)
    assert set(data) == {"device_code", "user_code", "verification_uri",
                         "verification_uri_complete", "expires_in", "interval"}
    assert data["verification_uri"] == server.url + "/device"
    assert data["verification_uri_complete"] == (
        server.url + "/device?user_code=" + data["user_code"])
    assert data["expires_in"] == 600 and data["interval"] == 1
    assert len(data["device_code"]) >= 32


def test_device_authorization_rejects_bad_requests(server):
    url = server.url + "/device_authorization"
    status, err = fetch_json(url, b'{"client_id": "devicepair-sim"}',
                             {"Content-Type": "application/json"})
    assert (status, err["error"]) == (400, "invalid_request")
    status, err = fetch_json(url + "?client_id=" + CLIENT, {"scope": "openid"})
    assert (status, err["error"]) == (400, "invalid_request")
    status, err = fetch_json(url, {"client_id": "nobody"})
    assert (status, err["error"]) == (400, "invalid_client")
    status, err = fetch_json(url, {"client_id": CLIENT, "scope": "openid admin"})
    assert (status, err["error"]) == (400, "invalid_scope")


def test_user_code_alphabet_and_format(server):
    sys.path.insert(0, ROOT)
    try:
        from tools.authserver import codes
    finally:
        sys.path.remove(ROOT)
    seen = set()
    for _ in range(2000):
        code = codes.new_user_code()
        assert len(code) == 8 and set(code) <= set(ALPHABET)
        seen.update(code)
    assert seen == set(ALPHABET)  # every letter shows up, none other
    assert codes.normalize("  bcdf-ghjk ") == "BCDFGHJK"
    assert codes.normalize("bcdfghjk") == "BCDFGHJK"
    assert codes.normalize("BCDF GHJK") == "BCDFGHJK"
    for bad in ("BCDF-GHJ", "BCDF-GHJKL", "ABCD-EFGH", "BCDF-GHJ0", "", None):
        assert codes.normalize(bad) is None
    user_codes = [start_pairing(server)["user_code"] for _ in range(10)]
    assert all(USER_CODE_RE.match(c) for c in user_codes), user_codes
    assert len(set(user_codes)) == 10


def test_pending_then_slow_down(server):
    dev = start_pairing(server)
    status, err = poll(server, dev["device_code"])
    assert (status, err["error"]) == (400, "authorization_pending")
    status, err = poll(server, dev["device_code"])  # well inside the 1 s interval
    assert (status, err["error"]) == (400, "slow_down")
    status, err = poll(server, dev["device_code"])  # interval is now 6 s
    assert (status, err["error"]) == (400, "slow_down")


def test_full_device_flow_via_web_pages(server):
    dev = start_pairing(server)
    status, err = poll(server, dev["device_code"])
    assert err["error"] == "authorization_pending"

    b = Browser()
    status, html = b.open(dev["verification_uri_complete"])
    assert status == 200
    for elem in ("username", "password", "signin"):
        assert 'id="%s"' % elem in html
    status, html = b.sign_in(server, dev["verification_uri_complete"])
    assert status == 200
    assert b.url == dev["verification_uri_complete"]  # back to the prefilled code
    assert input_value(html, "user_code") == dev["user_code"]
    assert 'id="continue"' in html

    typed = "  " + dev["user_code"].replace("-", "").lower() + " "
    status, html = b.enter_code(server, html, typed)
    assert status == 200
    assert '<code id="client_id">%s</code>' % CLIENT in html
    for scope in SCOPE.split():
        assert 'data-scope="%s"' % scope in html
    assert "Only approve if you started this on a device in your possession" in html
    assert 'id="approve"' in html and 'id="deny"' in html
    status, html = b.decide(server, html, "approve")
    assert status == 200 and "approved" in result(html)

    status, tok = poll(server, dev["device_code"])
    assert status == 200, tok
    assert tok["token_type"] == "Bearer" and tok["expires_in"] == 3600
    assert tok["scope"] == SCOPE
    assert tok["access_token"] and tok["refresh_token"]
    header, claims = verify_id_token(server, tok["id_token"])
    assert 700 < len(tok["id_token"]) < 1600
    assert header["alg"] == "RS256"
    assert claims["iss"] == server.url and claims["aud"] == CLIENT
    assert claims["preferred_username"] == "demo" and claims["name"] == "Demo User"
    assert claims["exp"] > time.time()
    digest = hashlib.sha256(tok["access_token"].encode()).digest()[:16]
    assert b64url(claims["at_hash"]) == digest

    status, err = poll(server, dev["device_code"])  # a device code is single-use
    assert (status, err["error"]) == (400, "invalid_grant")

    status, info = fetch_json(server.url + "/userinfo",
                              headers={"Authorization": "Bearer " + tok["access_token"]})
    assert status == 200
    assert info["sub"] == claims["sub"]
    assert (info["name"], info["preferred_username"]) == ("Demo User", "demo")
    status, _ = fetch_json(server.url + "/userinfo")
    assert status == 401

    status, html = b.enter_code(server, html, dev["user_code"])  # same code again
    assert "already used" in result(html)

    log = server.stderr()
    for secret in (tok["access_token"], tok["refresh_token"], tok["id_token"],
                   dev["device_code"]):
        assert secret not in log


def test_refresh_token_rotation(server):
    tok = paired_tokens(server)
    status, new = refresh(server, tok["refresh_token"])
    assert status == 200, new
    assert new["refresh_token"] != tok["refresh_token"]
    assert new["access_token"] != tok["access_token"]
    assert "id_token" in new
    status, err = refresh(server, tok["refresh_token"])  # rotated out
    assert (status, err["error"]) == (400, "invalid_grant")
    status, newer = refresh(server, new["refresh_token"])
    assert status == 200, newer
    status, err = refresh(server, "not-a-token")
    assert (status, err["error"]) == (400, "invalid_grant")


def test_revocation_ends_the_pairing(server):
    tok = paired_tokens(server)
    status, _, _ = request(server.url + "/revoke", {
        "token": tok["refresh_token"], "token_type_hint": "refresh_token", "client_id": CLIENT})
    assert status == 200
    status, err = refresh(server, tok["refresh_token"])
    assert (status, err["error"]) == (400, "invalid_grant")
    status, _ = fetch_json(server.url + "/userinfo",
                           headers={"Authorization": "Bearer " + tok["access_token"]})
    assert status == 401
    status, _, _ = request(server.url + "/revoke", {"token": "unknown", "client_id": CLIENT})
    assert status == 200  # RFC 7009 2.2: unknown tokens are not an error


def test_deny_gives_access_denied(server):
    dev = start_pairing(server)
    status, html = approve_via_web(server, dev["user_code"], "deny")
    assert status == 200 and "denied" in result(html)
    status, err = poll(server, dev["device_code"])
    assert (status, err["error"]) == (400, "access_denied")


def test_unknown_code_and_csrf(server):
    b = Browser()
    status, html = b.sign_in(server)
    status, page = b.enter_code(server, html, "BBBB-BBBB")
    assert status == 200 and "unknown" in result(page)
    assert 'id="user_code"' in page  # the form is shown again
    dev = start_pairing(server)
    status, page = b.open(server.url + "/device", {"user_code": dev["user_code"]})
    assert status == 400  # no CSRF token
    status, page = b.enter_code(server, html, dev["user_code"])
    status, page = b.open(server.url + "/device/decide", {
        "user_code": dev["user_code"], "action": "approve", "csrf_token": "forged"})
    assert status == 400
    assert poll(server, dev["device_code"])[1]["error"] == "authorization_pending"


def test_wrong_password(server):
    status, html = Browser().sign_in(server, password="wrong")
    assert status == 200 and 'id="error"' in html and 'id="user_code"' not in html


def test_wrong_codes_are_rate_limited(start_server):
    srv = start_server()
    dev = start_pairing(srv)
    b = Browser()
    status, html = b.sign_in(srv)
    for i in range(5):
        status, page = b.enter_code(srv, html, "ZZZZ-ZZZ%s" % "BCDFG"[i])
        assert status == 200 and "unknown" in result(page)
    for typed in ("ZZZZ-ZZZH", dev["user_code"]):  # blocked, even for the right code now
        status, page = b.enter_code(srv, html, typed)
        assert status == 429
        assert 0 < int(b.headers["Retry-After"]) <= 60
        assert "too many attempts" in result(page)


def test_expired_code(start_server):
    srv = start_server("--expires-in", "1", "--interval", "1")
    dev = start_pairing(srv)
    assert dev["expires_in"] == 1
    assert poll(srv, dev["device_code"])[1]["error"] == "authorization_pending"
    time.sleep(1.1)
    status, err = poll(srv, dev["device_code"])
    assert (status, err["error"]) == (400, "expired_token")
    b = Browser()
    status, html = b.sign_in(srv)
    status, html = b.enter_code(srv, html, dev["user_code"])
    assert "expired" in result(html)


@pytest.mark.parametrize("flag,outcome", [("--auto-approve", 200), ("--auto-deny", 400)])
def test_auto_approve_and_deny(start_server, flag, outcome):
    srv = start_server(flag, "0")
    dev = start_pairing(srv)
    status, body = poll(srv, dev["device_code"])
    assert status == outcome, body
    if outcome == 200:
        assert body["access_token"] and body["refresh_token"] and body["id_token"]
        # without openid: no id_token, and userinfo (an OIDC endpoint) refuses the token
        dev = start_pairing(srv, "profile offline_access")
        status, body = poll(srv, dev["device_code"])
        assert status == 200 and "id_token" not in body and body["refresh_token"]
        status, err = fetch_json(srv.url + "/userinfo",
                                 headers={"Authorization": "Bearer " + body["access_token"]})
        assert (status, err["error"]) == (403, "insufficient_scope")
    else:
        assert body["error"] == "access_denied"


def test_restart_keeps_pending_pairing(start_server, tmp_path):
    db = str(tmp_path / "persist.sqlite3")
    first = start_server("--interval", "1", db=db)
    dev = start_pairing(first)
    assert poll(first, dev["device_code"])[1]["error"] == "authorization_pending"
    kid = fetch_json(first.url + "/jwks.json")[1]["keys"][0]["kid"]
    first.stop()

    second = start_server("--interval", "1", db=db)
    assert fetch_json(second.url + "/jwks.json")[1]["keys"][0]["kid"] == kid
    status, html = approve_via_web(second, dev["user_code"])
    assert "approved" in result(html)
    status, tok = poll(second, dev["device_code"])
    assert status == 200, tok
    verify_id_token(second, tok["id_token"])


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com"])
def test_non_loopback_host_refused(host):
    p = subprocess.run([sys.executable, SCRIPT, "--host", host, "--port", "0"],
                       capture_output=True, text=True, timeout=30, cwd=ROOT, check=False)
    assert p.returncode == 2
    assert p.stdout == ""
    assert "--allow-remote" in p.stderr
