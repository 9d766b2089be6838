"""A scripted authorization-code + PKCE upstream for the proxy's tests and its load bench.

Never for production: it signs nobody in. ``GET /authorize`` answers at once, as
``decide(query)`` says: "approve" redirects back to the proxy with ``?code=...&state=...``,
"deny" with ``?error=access_denied``, "hold" not at all (a user who never returns) - after
checking what a strict server checks (client id, registered redirect URI, S256 challenge).
``POST /token`` checks client_secret_basic, the code (single
use, 60 s), the redirect URI and the PKCE verifier against the challenge, and issues random
tokens; ``refresh_token`` rotates. ``GET /userinfo`` answers for a live access token.
``mode`` switches the token endpoint to hostile answers (``garbage``, ``500``, ``huge``,
``invalid_client``) for the tests; ``auth_method``, ``discovery_body`` and ``rfc8414_only``
change what it accepts and publishes. Listens on 127.0.0.1 with a dynamic port, one thread per
connection; ``seen`` records every token request's form and Authorization header.
"""

import base64
import hashlib
import json
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CLIENT_ID = "deviceproxy"
CLIENT_SECRET = "fake-upstream-test-secret"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # the listen() backlog: a burst of sign-ins is not reset


class FakeUpstream:
    def __init__(self, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, name="Fake User",
                 access_ttl=3600):
        self.client_id = client_id
        self.client_secret = client_secret
        self.name = name
        self.access_ttl = access_ttl
        self.decide = lambda query: "approve"
        self.mode = None
        self.auth_method = "basic"  # or "post": client_secret_post
        self.discovery_body = None  # bytes to serve instead of the discovery document
        self.rfc8414_only = False  # no OIDC document, only RFC 8414 metadata
        self.codes = {}
        self.refresh_tokens = set()
        self.access_tokens = set()
        self.seen = []
        self.authorize_queries = []
        self.lock = threading.Lock()
        self.srv = _Server(("127.0.0.1", 0), _handler(self))
        self.url = "http://127.0.0.1:%d" % self.srv.server_port
        self._t = threading.Thread(target=self.srv.serve_forever, kwargs={"poll_interval": 0.1},
                                   daemon=True)
        self._t.start()

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()

    def discovery(self):
        u = self.url
        return {"issuer": u, "authorization_endpoint": u + "/authorize",
                "token_endpoint": u + "/token", "userinfo_endpoint": u + "/userinfo",
                "jwks_uri": u + "/jwks", "code_challenge_methods_supported": ["S256"],
                "scopes_supported": ["openid", "profile", "offline_access"]}

    def _tokens(self):
        at, rt = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        with self.lock:
            self.access_tokens.add(at)
            self.refresh_tokens.add(rt)
        return {"access_token": at, "token_type": "Bearer", "expires_in": self.access_ttl,
                "refresh_token": rt, "scope": "openid profile offline_access",
                "extra_field_the_board_never_sees": "x"}

    def authorize(self, q):
        with self.lock:
            self.authorize_queries.append(dict(q))
        redirect = q.get("redirect_uri", "")
        if q.get("client_id") != self.client_id or not redirect.endswith("/auth/redirect") \
                or q.get("code_challenge_method") != "S256" or not q.get("code_challenge") \
                or q.get("response_type") != "code" or not q.get("state"):
            return 400, {"error": "invalid_request"}, None
        decision = self.decide(q)
        if decision == "hold":  # a user who never comes back
            return 200, {"held": True}, None
        if decision != "approve":
            loc = redirect + "?" + urllib.parse.urlencode({"error": "access_denied",
                                                           "state": q["state"]})
            return 302, None, loc
        code = secrets.token_urlsafe(24)
        with self.lock:
            self.codes[code] = (q["code_challenge"], redirect, time.time() + 60)
        return 302, None, redirect + "?" + urllib.parse.urlencode({"code": code,
                                                                   "state": q["state"]})

    def token(self, form, auth):
        with self.lock:
            self.seen.append((dict(form), auth))
        if self.mode == "garbage":
            return 200, b"<html>not json"
        if self.mode == "500":
            return 500, b"oops"
        if self.mode == "huge":
            return 200, b'{"access_token": "' + b"A" * (400 * 1024) + b'"}'
        want = "Basic " + base64.b64encode(("%s:%s" % (self.client_id, self.client_secret))
                                           .encode()).decode()
        if self.auth_method == "post":
            ok = auth is None and form.get("client_id") == self.client_id and \
                form.get("client_secret") == self.client_secret
        else:
            ok = auth == want and "client_secret" not in form
        if self.mode == "invalid_client" or not ok:
            return 401, {"error": "invalid_client"}
        g = form.get("grant_type")
        if g == "authorization_code":
            with self.lock:
                c = self.codes.pop(form.get("code", ""), None)
            if c is None or c[2] < time.time() or c[1] != form.get("redirect_uri"):
                return 400, {"error": "invalid_grant"}
            v = form.get("code_verifier", "")
            s256 = base64.urlsafe_b64encode(hashlib.sha256(v.encode()).digest()).rstrip(b"=")
            if s256.decode() != c[0]:
                return 400, {"error": "invalid_grant", "error_description": "PKCE failed"}
            return 200, self._tokens()
        if g == "refresh_token":
            with self.lock:
                ok = form.get("refresh_token") in self.refresh_tokens
                self.refresh_tokens.discard(form.get("refresh_token"))
            return (200, self._tokens()) if ok else (400, {"error": "invalid_grant"})
        return 400, {"error": "unsupported_grant_type"}


def _handler(up):
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def _send(self, status, body=None, location=None):
            data = body if isinstance(body, bytes) else json.dumps(body or {}).encode()
            self.send_response(status)
            if location:
                self.send_header("Location", location)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            path, _, query = self.path.partition("?")
            q = dict(urllib.parse.parse_qsl(query))
            if path == "/.well-known/openid-configuration" and not up.rfc8414_only or \
                    path == "/.well-known/oauth-authorization-server" and up.rfc8414_only:
                return self._send(200, up.discovery_body or up.discovery())
            if path == "/authorize":
                status, body, loc = up.authorize(q)
                return self._send(status, body, loc)
            if path == "/userinfo":
                tok = self.headers.get("Authorization", "")[7:]
                if tok in up.access_tokens:
                    return self._send(200, {"sub": "u1", "name": up.name})
                return self._send(401, {"error": "invalid_token"})
            self._send(404, {"error": "not_found"})

        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            form = dict(urllib.parse.parse_qsl(self.rfile.read(n).decode()))
            if self.path == "/token":
                status, body = up.token(form, self.headers.get("Authorization"))
                return self._send(status, body)
            self._send(404, {"error": "not_found"})

    return H


def main(argv=None):
    """``python -m tools.deviceproxy.fakeupstream [--access-ttl S]``: serve until SIGTERM;
    the first stdout line is ``fakeupstream listening on URL`` (the load bench runs it in its
    own process so its work is not counted against the devices' interpreter)."""
    import argparse
    import signal

    p = argparse.ArgumentParser(prog="fakeupstream", description=__doc__.split("\n")[0])
    p.add_argument("--access-ttl", type=int, default=3600, help="access token lifetime in s")
    args = p.parse_args(argv)
    up = FakeUpstream(access_ttl=args.access_ttl)
    print("fakeupstream listening on " + up.url, flush=True)
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *a: done.set())
    done.wait()
    up.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
