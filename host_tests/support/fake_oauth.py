"""The shared engine of the provider fakes (CPython only): one RFC 8628 authorization server
with hooks where real providers differ. provider_fakes.py configures one subclass per provider.

Time is virtual: the fake's clock only moves with ``POST /_fake/advance`` (ms=N), so a test
on a FakeClock can keep client and server time in step (intervals, slow_down, expiry) without
sleeping. Test control, on any fake (form-encoded POSTs, JSON answers):
``/_fake/approve`` (user_code[, user]), ``/_fake/deny`` (user_code), ``/_fake/advance`` (ms),
``/_fake/set`` (knob=int), ``GET /_fake/code?user_code=`` (state of a pending code),
``GET /_fake/log?n=`` (the last requests: method, path, headers, form).
"""

import json
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
FORM = "application/x-www-form-urlencoded"
LETTERS20 = "BCDFGHJKLMNPQRSTVWXZ"  # no vowels: no words in user codes (RFC 8628 6.1)


class Req:
    def __init__(self, method, path, query, headers, body):
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.form = {}
        if FORM in headers.get("content-type", ""):
            self.form = dict(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))

    def bearer(self):
        auth = self.headers.get("authorization", "")
        scheme, _, tok = auth.partition(" ")
        return tok.strip() if scheme.lower() in ("bearer", "token") else None


class Reply:
    def __init__(self, status, body=b"", ctype="application/json", headers=None, chunked=False):
        self.status = status
        self.body = body if isinstance(body, bytes) else body.encode()
        self.ctype = ctype
        self.headers = headers or {}
        self.chunked = chunked


def jreply(status, obj, headers=None):
    return Reply(status, json.dumps(obj), "application/json; charset=utf-8", headers)


def code_from(alphabet, groups):
    return "-".join("".join(secrets.choice(alphabet) for _ in range(n)) for n in groups)


class FakeProvider:
    name = "rfc8628"
    env = None
    interval = 5
    expires_in = 600
    token_lifetime = 3600
    statuses = {}              # OAuth error -> HTTP status (default 400)
    descriptions = {}          # OAuth error -> error_description
    denied_error = "access_denied"
    enforce_interval = True    # early polls answer slow_down
    escalate = True            # ... and add 5 s to the code's interval (RFC 8628 3.5)
    refresh_needs_scope = "offline_access"  # None: a refresh token is always issued
    rotate = True              # refresh answers with a new refresh token
    revoke_old = True          # ... and the old one stops working
    case_sensitive_codes = False
    users = {"default": {"sub": "user-1", "name": "Test User"}}

    def __init__(self):
        self.lock = threading.Lock()
        self.now = 0
        self.codes = {}       # device_code -> record
        self.user_codes = {}  # normalised user_code -> device_code
        self.access = {}      # access token -> {"user", "scope", "client_id"}
        self.refresh = {}     # refresh token -> {"user", "scope", "client_id", "valid"}
        self.knobs = {}
        self.log = []
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.fake = self
        self.port = self.httpd.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self._thread = None

    def start(self):
        self._thread = threading.Thread(target=self.httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread:
            self._thread.join(5)

    # -- hooks a provider overrides --------------------------------------------------------
    def route(self, req):
        """-> a handler ``f(req)`` for this request, or None (404)."""
        raise NotImplementedError

    def check_client(self, req, cid, grant):
        """None if the client may use ``grant`` ("device", "poll", "refresh"), else a Reply."""
        return None

    def check_scope(self, req, scope):
        return None

    def new_user_code(self, cid):
        return code_from(LETTERS20, (4, 4))

    def new_device_code(self):
        return secrets.token_hex(20)

    def normalise(self, code):
        return code if self.case_sensitive_codes else code.upper().replace("-", "")

    def device_body(self, req, dc, rec):
        return {"device_code": dc, "user_code": rec["user_code"],
                "verification_uri": self.url + "/activate",
                "verification_uri_complete": self.url + "/activate?user_code=" + rec["user_code"],
                "expires_in": self.expires_in, "interval": self.interval}

    def error(self, req, err, desc=None, **extra):
        body = {"error": err}
        d = desc or self.descriptions.get(err)
        if d:
            body["error_description"] = d
        body.update(extra)
        return jreply(self.statuses.get(err, 400), body)

    def tokens_reply(self, req, d):
        return jreply(200, d, {"Cache-Control": "no-store", "Pragma": "no-cache"})

    def on_expired(self, req, rec):
        return self.error(req, "expired_token")

    def on_unknown_code(self, req):
        return self.error(req, "invalid_grant")

    def on_slow_down(self, req, rec):
        return self.error(req, "slow_down")

    def token_fields(self, rec, d):
        """Add provider fields to a fresh token response ``d`` (device grant and refresh)."""
        return d

    def new_token(self, kind):
        return kind + "-" + secrets.token_urlsafe(24)

    def userinfo_reply(self, req, info):
        return jreply(200, self.users[info["user"]])

    def unauthorized(self, req):
        return jreply(401, {"error": "invalid_token"},
                      {"WWW-Authenticate": 'Bearer error="invalid_token"'})

    # -- the RFC 8628 / RFC 6749 engine ----------------------------------------------------
    def device(self, req):
        cid = req.form.get("client_id")
        if not cid:
            return self.error(req, "invalid_request", "Missing client_id")
        bad = self.check_client(req, cid, "device") or \
            self.check_scope(req, req.form.get("scope", ""))
        if bad:
            return bad
        dc = self.new_device_code()
        rec = {"client_id": cid, "scope": req.form.get("scope", ""), "status": "pending",
               "expires": self.now + self.expires_in * 1000, "interval": self.interval,
               "last": None, "user": None, "polls": 0, "told_expired": False,
               "params": dict(req.form), "user_code": self.new_user_code(cid)}
        self.codes[dc] = rec
        self.user_codes[self.normalise(rec["user_code"])] = dc
        return self.tokens_reply(req, self.device_body(req, dc, rec))

    def token(self, req):
        gt = req.form.get("grant_type")
        if gt == DEVICE_GRANT:
            return self.poll(req)
        if gt == "refresh_token":
            return self.do_refresh(req)
        return self.error(req, "unsupported_grant_type")

    def poll(self, req):
        cid = req.form.get("client_id")
        bad = self.check_client(req, cid, "poll")
        if bad:
            return bad
        rec = self.codes.get(req.form.get("device_code", ""))
        if rec is None or rec["client_id"] != cid or rec["status"] == "used":
            return self.on_unknown_code(req)
        rec["polls"] += 1
        if self.now >= rec["expires"]:
            return self.on_expired(req, rec)
        early = rec["last"] is not None and self.now - rec["last"] < rec["interval"] * 1000
        rec["last"] = self.now
        if early and self.enforce_interval:
            if self.escalate:
                rec["interval"] += 5
            return self.on_slow_down(req, rec)
        if rec["status"] == "pending":
            return self.error(req, "authorization_pending")
        if rec["status"] == "denied":
            return self.error(req, self.denied_error)
        rec["status"] = "used"
        return self.tokens_reply(req, self.issue(rec, rec["scope"], rec["user"], cid, True))

    def issue(self, rec, scope, user, cid, first):
        at = self.new_token("at")
        self.access[at] = {"user": user, "scope": scope, "client_id": cid}
        d = {"access_token": at, "token_type": "Bearer", "expires_in": self.token_lifetime}
        if scope:
            d["scope"] = scope
        if self.refresh_needs_scope is None or self.refresh_needs_scope in scope.split():
            if first or self.rotate:
                rt = self.new_token("rt")
                self.refresh[rt] = {"user": user, "scope": scope, "client_id": cid,
                                    "valid": True}
                d["refresh_token"] = rt
        return self.token_fields(rec, d)

    def do_refresh(self, req):
        cid = req.form.get("client_id")
        bad = self.check_client(req, cid, "refresh")
        if bad:
            return bad
        rt = req.form.get("refresh_token", "")
        info = self.refresh.get(rt)
        if not info or not info["valid"] or info["client_id"] != cid:
            return self.bad_refresh(req)
        if self.rotate and self.revoke_old:
            info["valid"] = False
        return self.tokens_reply(req, self.issue(None, info["scope"], info["user"], cid, False))

    def bad_refresh(self, req):
        return self.error(req, "invalid_grant")

    def userinfo(self, req):
        info = self.access.get(req.bearer() or "")
        if info is None:
            return self.unauthorized(req)
        return self.userinfo_reply(req, info)

    # -- test control ------------------------------------------------------------------------
    def control(self, req):
        action = req.path[len("/_fake/"):]
        f = dict(req.form)
        f.update(req.query)
        if action == "advance":
            self.now += int(f.get("ms", 0))
            return jreply(200, {"now": self.now})
        if action == "set":
            for k, v in f.items():
                self.knobs[k] = int(v)
            return jreply(200, self.knobs)
        if action == "log":
            n = int(f.get("n", 10))
            return jreply(200, self.log[len(self.log) - n:] if n > 0 else [])
        dc = self.user_codes.get(self.normalise(f.get("user_code", "")))
        rec = self.codes.get(dc) if dc else None
        if rec is None:
            return jreply(404, {"error": "no such user code"})
        if action == "approve":
            user = f.get("user") or next(iter(self.users))
            if user not in self.users:
                return jreply(400, {"error": "no such user"})
            rec["status"], rec["user"] = "approved", user
        elif action == "deny":
            rec["status"] = "denied"
        elif action != "code":
            return jreply(404, {"error": "no such control"})
        return jreply(200, {"status": rec["status"], "interval": rec["interval"],
                            "polls": rec["polls"], "params": rec["params"]})

    def handle(self, req):
        with self.lock:
            if req.path.startswith("/_fake/"):
                return self.control(req)
            self.log.append({"method": req.method, "path": req.path, "form": req.form,
                             "headers": req.headers})
            del self.log[:-100]
            f = self.route(req)
            if f is None:
                return Reply(404, "Not Found", "text/plain")
            return f(req)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake"

    def log_message(self, *args):
        pass

    def _do(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        u = urllib.parse.urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        req = Req(self.command, u.path, dict(urllib.parse.parse_qsl(u.query)), headers, body)
        r = self.server.fake.handle(req)
        self.send_response(r.status)
        self.send_header("Content-Type", r.ctype)
        for k, v in r.headers.items():
            self.send_header(k, str(v))
        if r.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(r.body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if r.chunked:
            for i in range(0, len(r.body), 100):
                part = r.body[i:i + 100]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.wfile.write(r.body)
        self.close_connection = True

    def handle(self):
        try:
            BaseHTTPRequestHandler.handle(self)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading (discovery stops early): fine

    do_GET = do_POST = _do


def wait_port(fake, timeout=5):
    """Block until ``fake`` accepts connections (serve_forever started)."""
    import socket

    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", fake.port), 0.5).close()
            return
        except OSError:
            time.sleep(0.02)
