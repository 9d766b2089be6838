"""The Flask application: OAuth/OIDC endpoints, discovery, JWKS and the verification pages.

create_app(cfg) builds everything from a Config; it is what the CLI serves and what a test
may use with Flask's test client.
"""

import logging
import secrets
import time

from authlib.integrations.flask_oauth2 import current_token
from authlib.oauth2.rfc8628 import DEVICE_CODE_GRANT_TYPE
from flask import Flask, jsonify, render_template, request

from . import keys, oauth, pages
from .ratelimit import AttemptLimiter
from .store import Store

log = logging.getLogger("authserver")
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
READINGS = 20


def _new_token(**_kwargs):
    return secrets.token_urlsafe(32)


def _form_problem():
    """RFC 6749/8628 requests are form-encoded POST bodies, each parameter at most once."""
    if request.mimetype != "application/x-www-form-urlencoded":
        return "The request body must be application/x-www-form-urlencoded."
    if request.args:
        return "Parameters must be sent in the request body, not the URL."
    for name in request.form:
        if len(request.form.getlist(name)) > 1:
            return "Parameter %s is repeated." % name
    return None


def _invalid_request(description):
    body = jsonify(error="invalid_request", error_description=description)
    return body, 400, NO_STORE


def discovery_document(cfg):
    base = cfg.public_url
    return {
        "issuer": base,
        "device_authorization_endpoint": base + "/device_authorization",
        "token_endpoint": base + "/token",
        "userinfo_endpoint": base + "/userinfo",
        "revocation_endpoint": base + "/revoke",
        "jwks_uri": base + "/jwks.json",
        "grant_types_supported": list(oauth.GRANT_TYPES),
        "scopes_supported": list(cfg.scopes),
        "token_endpoint_auth_methods_supported": ["none"],
        "revocation_endpoint_auth_methods_supported": ["none"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "name",
                             "given_name", "family_name", "preferred_username", "locale",
                             "zoneinfo", "email", "email_verified"],
    }


def create_app(cfg):
    store = Store(cfg.db_path)
    store.sync_clients(cfg.client_ids, " ".join(cfg.scopes), " ".join(oauth.GRANT_TYPES))
    store.sync_users(cfg.users)
    store.purge(time.time() - 86400)
    key = keys.load_or_create(keys.key_path_for(cfg.db_path))

    app = Flask(__name__)
    app.secret_key = store.meta("flask_secret_key", lambda: secrets.token_hex(32))
    app.config.update(
        SESSION_COOKIE_NAME=cfg.cookie_name,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
        OAUTH2_ACCESS_TOKEN_GENERATOR=_new_token,
        OAUTH2_REFRESH_TOKEN_GENERATOR=_new_token,
        OAUTH2_TOKEN_EXPIRES_IN={
            DEVICE_CODE_GRANT_TYPE: cfg.access_token_ttl,
            "refresh_token": cfg.access_token_ttl,
        },
        OAUTH2_SCOPES_SUPPORTED=list(cfg.scopes),
    )
    server = oauth.create_server(app, store, cfg, key)
    server.code_limiter = AttemptLimiter(cfg.max_code_attempts, cfg.attempt_window)
    server.login_limiter = AttemptLimiter(cfg.max_code_attempts, cfg.attempt_window)
    app.extensions["authserver"] = server
    app.register_blueprint(pages.bp)

    @app.after_request
    def _headers(resp):
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        if resp.mimetype == "text/html":
            resp.headers["Cache-Control"] = "no-store"
            resp.headers["Referrer-Policy"] = "no-referrer"
            resp.headers["X-Frame-Options"] = "DENY"
            resp.headers["Content-Security-Policy"] = (
                "default-src 'none'; style-src 'unsafe-inline'; form-action 'self';"
                " frame-ancestors 'none'; base-uri 'none'"
            )
        return resp

    @app.get("/")
    def index():
        return render_template("index.html", title="Home")

    @app.get("/.well-known/openid-configuration")
    def discovery():
        return jsonify(discovery_document(cfg))

    @app.get("/.well-known/oauth-authorization-server")
    def discovery_rfc8414():
        return jsonify(discovery_document(cfg))

    @app.get("/jwks.json")
    def jwks():
        return jsonify(keys.public_jwks(key))

    @app.post("/device_authorization")
    def device_authorization():
        problem = _form_problem()
        if problem:
            return _invalid_request(problem)
        return server.create_endpoint_response("device_authorization")

    @app.post("/token")
    def token():
        problem = _form_problem()
        if problem:
            return _invalid_request(problem)
        resp = server.create_token_response()
        if resp.status_code != 200:
            data = resp.get_json(silent=True) or {}
            level = logging.DEBUG if data.get("error") == "authorization_pending" else logging.INFO
            log.log(level, "token request for client %s: %s", request.form.get("client_id"),
                    data.get("error"))
        return resp

    @app.post("/revoke")
    def revoke():
        problem = _form_problem()
        if problem:
            return _invalid_request(problem)
        return server.create_endpoint_response("revocation")

    @app.route("/userinfo", methods=["GET", "POST"])
    def userinfo():
        return server.create_endpoint_response("userinfo")

    readings = {}  # user id -> the last READINGS readings it posted (this process only)

    @app.route("/api/readings", methods=["GET", "POST"])
    @server.protector()
    def api_readings():
        """A small protected API for firmware/examples: POST a JSON object (at most 1 KB)
        with the bearer token; GET returns the last readings this user posted."""
        user = current_token.row["username"]
        mine = readings.setdefault(user, [])
        if request.method == "GET":
            return jsonify({"readings": mine})
        if request.content_length is None or request.content_length > 1024:
            return jsonify({"error": "invalid_request",
                            "error_description": "a JSON object of at most 1 KB"}), 400
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return jsonify({"error": "invalid_request",
                            "error_description": "the body must be a JSON object"}), 400
        body["received_at"] = int(time.time())
        mine.append(body)
        del mine[:-READINGS]
        return jsonify({"ok": True, "count": len(mine)}), 201

    return app
