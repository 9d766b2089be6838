"""The WSGI application: the device endpoints, the browser pages, discovery, health.

``create_app(cfg, store, upstream)`` is what gunicorn serves (cli.py) and what a test may use
with Flask's test client. The proxy publishes its own discovery document (OIDC Discovery /
RFC 8414) naming itself as the device authorization and token endpoint, so a board configured
with ``issuer`` = the proxy finds everything; the userinfo endpoint and JWKS are the upstream's.
Every response is logged as one JSON line (route without its query string - ``?code=`` and
``state`` stay out of logs), and every HTML page carries a strict Content-Security-Policy.
"""

import os
import time
import traceback

from flask import Flask, g, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from . import device, logs, pages
from .device import GRANT
from .store import StoreError


class Context:
    def __init__(self, cfg, store, upstream):
        self.cfg = cfg
        self.store = store
        self.upstream = upstream
        self._secret = None

    @property
    def secret(self):
        if self._secret is None:
            self._secret = self.store.secret()
        return self._secret


def discovery_document(cfg, upstream):
    base = cfg.public_url
    doc = {
        "issuer": base,
        "device_authorization_endpoint": base + "/device/code",
        "token_endpoint": base + "/device/token",
        "grant_types_supported": [GRANT, "refresh_token"],
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": ["none"],
        "scopes_supported": list(cfg.scopes),
        "service_documentation": base + "/",
    }
    if upstream.userinfo_endpoint:
        doc["userinfo_endpoint"] = upstream.userinfo_endpoint
    if upstream.jwks_uri:
        doc["jwks_uri"] = upstream.jwks_uri
    if upstream.issuer:
        doc["upstream_issuer"] = upstream.issuer
    return doc


def create_app(cfg, store, upstream):
    app = Flask("deviceproxy")
    app.config["MAX_CONTENT_LENGTH"] = 32 * 1024
    app.extensions["deviceproxy"] = Context(cfg, store, upstream)
    if cfg.proxy_hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=cfg.proxy_hops, x_proto=cfg.proxy_hops,
                                x_host=cfg.proxy_hops)
    app.register_blueprint(device.bp)
    app.register_blueprint(pages.bp)
    csp = ("default-src 'none'; style-src 'unsafe-inline'; form-action 'self' %s; "
           "frame-ancestors 'none'; base-uri 'none'" % pages.origin(
               upstream.authorization_endpoint))

    @app.before_request
    def _start():
        g.t0 = time.perf_counter()

    @app.after_request
    def _finish(resp):
        if resp.mimetype == "text/html":
            resp.headers["Content-Security-Policy"] = csp
            resp.headers["X-Frame-Options"] = "DENY"
            resp.headers["Cache-Control"] = "no-store"
        resp.headers["Referrer-Policy"] = "no-referrer"
        resp.headers["X-Content-Type-Options"] = "nosniff"
        ms = (time.perf_counter() - g.get("t0", time.perf_counter())) * 1000
        logs.event("request", method=request.method, path=request.path[:200],
                   status=resp.status_code, ms=round(ms, 2), ip=request.remote_addr)
        return resp

    @app.get("/.well-known/openid-configuration")
    @app.get("/.well-known/oauth-authorization-server")
    def _discovery():
        return jsonify(discovery_document(cfg, upstream))

    @app.get("/healthz")
    def _health():
        app.extensions["deviceproxy"].store.ping()
        return jsonify(status="ok", store=store.kind)

    @app.get("/")
    def _index():
        return jsonify(service="devicepair device-flow proxy",
                       discovery=cfg.public_url + "/.well-known/openid-configuration",
                       verification_uri=cfg.verification_uri)

    app.register_error_handler(StoreError, device.handle_store_error)

    @app.errorhandler(Exception)
    def _crash(e):
        if isinstance(e, HTTPException):
            return e
        # where, not what: an exception's message may quote a URL with a code in it
        tb = traceback.extract_tb(e.__traceback__)[-3:]
        logs.event("internal_error", level="error", exception=type(e).__name__,
                   where=["%s:%d" % (os.path.basename(f.filename), f.lineno) for f in tb])
        if request.path.startswith("/device/") and request.method == "POST" and \
                request.path != "/device/approve":
            return device.error("server_error", "internal error", 500)
        return "Internal error, try again.", 500, {"Content-Type": "text/plain"}

    @app.errorhandler(413)
    def _too_big(e):
        return device.error("invalid_request", "request body too large", 413)

    return app
