"""Authlib wiring: client/token models, the RFC 8628 grant and endpoints, refresh rotation,
RFC 7009 revocation (the OIDC parts are in oidc.py).

Where Authlib's defaults differ from what a device client should see from a real provider,
the subclasses below say so (e.g. unknown device_code is invalid_grant, not invalid_request).
All clients are public: client_id only, token_endpoint_auth_method "none".
"""

import logging
import secrets
import time

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2.rfc6749 import (
    ClientMixin,
    InvalidGrantError,
    TokenMixin,
    UnauthorizedClientError,
)
from authlib.oauth2.rfc6749.grants import RefreshTokenGrant
from authlib.oauth2.rfc6749.util import list_to_scope, scope_to_list
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc8628 import (
    DEVICE_CODE_GRANT_TYPE,
    DeviceAuthorizationEndpoint,
    DeviceCodeGrant,
    DeviceCredentialDict,
)

from . import codes
from .oidc import IdToken, UserInfoEp
from .store import secret_hash

log = logging.getLogger("authserver")

GRANT_TYPES = (DEVICE_CODE_GRANT_TYPE, "refresh_token")


class Client(ClientMixin):
    client_metadata = {}  # read by authlib's UserInfoEndpoint (no signed userinfo)

    def __init__(self, row):
        self.client_id = row["client_id"]
        self.scope = row["scope"]
        self.grant_types = row["grant_types"].split()

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return None

    def get_allowed_scope(self, scope):
        if not scope:
            return self.scope  # RFC 6749 3.3: omitted scope -> the pre-defined default
        allowed = scope_to_list(self.scope)
        return list_to_scope([s for s in scope_to_list(scope) if s in allowed])

    def check_redirect_uri(self, redirect_uri):
        return False

    def check_client_secret(self, client_secret):
        return False

    def check_endpoint_auth_method(self, method, endpoint):
        return method == "none"

    def check_response_type(self, response_type):
        return False

    def check_grant_type(self, grant_type):
        return grant_type in self.grant_types


class Token(TokenMixin):
    """One row of the tokens table: an access token and (usually) its refresh token."""

    def __init__(self, row, server, kind="access"):
        self.row = row
        self.id = row["id"]
        self.scope = row["scope"]  # authlib's UserInfoEndpoint reads .scope
        self.kind = kind
        self._server = server

    def check_client(self, client):
        return self.row["client_id"] == client.get_client_id()

    def get_scope(self):
        return self.scope

    def get_expires_in(self):
        return int(self.row["expires_at"] - self.row["issued_at"])

    def is_expired(self):
        return self.row["expires_at"] <= time.time()

    def is_revoked(self):
        return bool(self.row["access_revoked"])

    def get_user(self):
        return self._server.store.get_user(self.row["username"])

    def get_client(self):
        return Client(self._server.store.get_client(self.row["client_id"], enabled_only=False))


class Server(AuthorizationServer):
    """Authlib's Flask AuthorizationServer bound to our Store, Config and signing key."""

    def __init__(self, app, store, cfg, key):
        self.store = store
        self.cfg = cfg
        self.key = key
        super().__init__(app)

    def query_client(self, client_id):
        row = self.store.get_client(client_id)
        return Client(row) if row else None

    def apply_auto_decision(self):
        cfg = self.cfg
        after = cfg.auto_approve if cfg.auto_approve is not None else cfg.auto_deny
        if after is None:
            return
        approve = cfg.auto_approve is not None
        n = self.store.apply_auto_decision(time.time(), after, approve, cfg.users[0][0])
        if n:
            log.info("%s %d pending code(s) automatically as %s",
                     "approved" if approve else "denied", n, cfg.users[0][0])

    def save_token(self, token, request):
        """Store a new token pair; the step that consumes its grant is in the same
        transaction, so a device code or refresh token can be used exactly once."""
        now = time.time()
        refresh = token.get("refresh_token")
        row = {
            "client_id": request.client.get_client_id(),
            "username": request.user["username"],
            "scope": token.get("scope", ""),
            "access_hash": secret_hash(token["access_token"]),
            "refresh_hash": secret_hash(refresh) if refresh else None,
            "issued_at": now,
            "expires_at": now + token["expires_in"],
        }
        grant_type = request.payload.grant_type
        if grant_type == DEVICE_CODE_GRANT_TYPE:
            cred = request.credential
            row.update(grant_id=secrets.token_hex(8), parent_id=None,
                       auth_time=cred["decided_at"])
            ok = self.store.exchange_device_code(cred["device_hash"], row, now)
        else:
            old = request.refresh_token
            row.update(grant_id=old.row["grant_id"], parent_id=old.id,
                       auth_time=old.row["auth_time"])
            ok = self.store.rotate_refresh(old.id, row)
        if not ok:
            raise InvalidGrantError("The grant was already used.")
        log.info("issued tokens to client %s for user %s (grant %s, scope %r)",
                 row["client_id"], row["username"], grant_type.rsplit(":", 1)[-1], row["scope"])


class DeviceAuthorization(DeviceAuthorizationEndpoint):
    CLIENT_AUTH_METHODS = ["none"]

    def __init__(self, server):
        super().__init__(server)
        self.EXPIRES_IN = server.cfg.expires_in
        self.INTERVAL = server.cfg.interval

    def authenticate_client(self, request):
        client = super().authenticate_client(request)
        # authlib does not check the client may use the device grant at all
        if not client.check_grant_type(DEVICE_CODE_GRANT_TYPE):
            raise UnauthorizedClientError("The client may not use the device code grant.")
        return client

    def get_verification_uri(self):
        return self.server.cfg.public_url + "/device"

    def generate_device_code(self):
        return secrets.token_urlsafe(32)

    def generate_user_code(self):
        for _ in range(50):
            code = codes.new_user_code()
            if not self.server.store.user_code_taken(code):
                return codes.display(code)
        raise RuntimeError("user code space exhausted")

    def save_device_credential(self, client_id, scope, data):
        client = self.server.query_client(client_id)
        scope = client.get_allowed_scope(scope)
        self.server.store.insert_device(
            data["device_code"], codes.normalize(data["user_code"]), client_id, scope,
            time.time(), self.EXPIRES_IN, self.INTERVAL,
        )
        log.info("device code issued to client %s: user code %s, scope %r",
                 client_id, data["user_code"], scope)


class DeviceCode(DeviceCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["none"]

    def query_device_credential(self, device_code):
        self.server.apply_auto_decision()
        row = self.server.store.device_by_code(device_code)
        # authlib answers invalid_request / unauthorized_client here; RFC 6749 5.2 says a
        # grant that is unknown or was issued to another client is invalid_grant
        if row is None or row["client_id"] != self.request.payload.client_id:
            raise InvalidGrantError("Unknown device_code.")
        self._row = row
        return DeviceCredentialDict(row)

    def validate_device_credential(self, credential):
        if credential["used_at"] is not None:
            raise InvalidGrantError("The device_code was already used.")
        return super().validate_device_credential(credential)

    def query_user_grant(self, user_code):
        row = self._row
        if row["status"] == "pending":
            return None
        return self.server.store.get_user(row["username"]), row["status"] == "approved"

    def should_slow_down(self, credential):
        return self.server.store.record_poll(
            credential["device_hash"], time.time(), self.server.cfg.slow_down_grace
        )


class RefreshToken(RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["none"]
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotation: every refresh returns a new refresh token

    def authenticate_refresh_token(self, refresh_token):
        row = self.server.store.token_by_refresh(refresh_token)
        if row and not row["refresh_revoked"]:
            return Token(row, self.server, "refresh")
        return None

    def authenticate_user(self, refresh_token):
        user = self.server.store.get_user(refresh_token.row["username"])
        if not user or not user["enabled"]:
            raise InvalidGrantError("The user of this grant no longer exists.")
        return user

    def revoke_old_credential(self, refresh_token):
        pass  # done in Server.save_token, atomically with storing the successor


class BearerValidator(BearerTokenValidator):
    def __init__(self, server):
        super().__init__()
        self.srv = server

    def authenticate_token(self, token_string):
        row = self.srv.store.token_by_access(token_string)
        return Token(row, self.srv) if row else None


class Revocation(RevocationEndpoint):
    """RFC 7009. Revoking a refresh token revokes every token of that pairing."""

    CLIENT_AUTH_METHODS = ["none"]

    def query_token(self, token_string, token_type_hint):
        store = self.server.store
        kinds = ["refresh", "access"]
        if token_type_hint == "access_token":
            kinds.reverse()  # only a hint: RFC 7009 2.1 says search the other kinds too
        for kind in kinds:
            find = store.token_by_refresh if kind == "refresh" else store.token_by_access
            row = find(token_string)
            if row:
                return Token(row, self.server, kind)
        return None

    def revoke_token(self, token, request):
        if token.kind == "refresh":
            self.server.store.revoke_grant(token.row["grant_id"])
        else:
            self.server.store.revoke_access(token.id)
        log.info("revoked %s token of client %s", token.kind, token.row["client_id"])


def create_server(app, store, cfg, key):
    """The configured authlib server; app.config must already hold the OAUTH2_* settings."""
    server = Server(app, store, cfg, key)
    server.register_grant(DeviceCode, [IdToken(server)])
    server.register_grant(RefreshToken, [IdToken(server)])
    server.register_endpoint(DeviceAuthorization(server))
    server.register_endpoint(Revocation)
    protector = ResourceProtector()
    protector.register_token_validator(BearerValidator(server))
    server.register_endpoint(UserInfoEp(server, resource_protector=protector))
    server.protector = protector  # the examples' small protected API (web.py, /api/readings)
    return server
