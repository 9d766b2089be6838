"""Faithful local fakes of the providers devicepair has presets for (CPython only).

One small server per provider on 127.0.0.1 (random port), each reproducing what the
provider documents on the wire: paths, content types, status codes, field names, error bodies,
refresh-token rotation and the who-am-I API with its bearer check. Where a detail is not
documented the fake picks the strict side, so the client must be tolerant. The engine and the
test-control endpoints are in fake_oauth.py. ``start_all()`` is what conftest.py uses: every
fake's base URL lands in an environment variable ``DEVICEPAIR_FAKE_<NAME>``.
"""

import json
import re
import secrets

from fake_oauth import FakeProvider, Reply, jreply, code_from, FORM, LETTERS20

ALNUM = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class Auth0(FakeProvider):
    """Auth0: /oauth/device/code, /oauth/token, /userinfo. Pending and errors are 403,
    slow_down is 429; an expired code answers expired_token once, then invalid_grant."""

    name = "auth0"
    expires_in = 900
    statuses = {"authorization_pending": 403, "slow_down": 429, "expired_token": 403,
                "access_denied": 403, "invalid_grant": 403, "invalid_client": 401}
    descriptions = {
        "authorization_pending": "User has yet to authorize device code.",
        "slow_down": "You are polling faster than the specified interval of 5 seconds.",
        "expired_token": "User has not authorized device code within the expiration time.",
        "access_denied": "User cancelled the confirmation prompt or consent page.",
        "invalid_grant": "Invalid or expired device code."}
    clients = ("auth0-client", "auth0-digits")
    users = {"ada": {"sub": "auth0|64f1c0a1b2c3d4e5f6a7b8c9", "nickname": "ada",
                     "name": "Ada Lovelace", "picture": "https://s.gravatar.com/avatar/x.png",
                     "updated_at": "2025-11-02T10:00:00.000Z", "email": "ada@example.com",
                     "email_verified": True}}

    def route(self, req):
        return {"/oauth/device/code": self.device, "/oauth/token": self.token,
                "/userinfo": self.userinfo}.get(req.path)

    def check_client(self, req, cid, grant):
        if cid not in self.clients:
            return self.error(req, "invalid_client", "Unauthorized or unknown client")

    def new_user_code(self, cid):
        if cid.endswith("-digits"):  # the tenant's "digits" character set: 800-591-307-087
            return code_from("0123456789", (3, 3, 3, 3))
        return code_from(LETTERS20, (4, 4))

    def on_expired(self, req, rec):
        if rec["told_expired"]:
            return self.error(req, "invalid_grant")
        rec["told_expired"] = True
        return self.error(req, "expired_token")

    def token_fields(self, rec, d):
        if "openid" in d.get("scope", ""):
            d["id_token"] = "eyJ" + secrets.token_urlsafe(600)
        return d

    def bad_refresh(self, req):
        return self.error(req, "invalid_grant", "Unknown or invalid refresh token.")

    def unauthorized(self, req):
        return Reply(401, "Unauthorized", "text/plain",
                     {"WWW-Authenticate": 'Bearer realm="auth0", error="invalid_token"'})


class Entra(FakeProvider):
    """Microsoft Entra ID v2.0: /{tenant}/oauth2/v2.0/devicecode and /token, a ``message``
    field, authorization_declined / bad_verification_code / expired_token with AADSTS bodies,
    rotating refresh tokens (old ones stay valid), big JWT-sized tokens, Graph /v1.0/me
    (needs User.Read)."""

    name = "entra"
    expires_in = 900
    enforce_interval = False  # Entra documents no slow_down
    revoke_old = False
    tenants = ("contoso.onmicrosoft.com", "common", "organizations",
               "72f988bf-86f1-41af-91ab-2d7cd011db47")
    _aadsts = {"authorization_pending": 70016, "authorization_declined": 70000,
               "expired_token": 70020, "bad_verification_code": 70019, "invalid_grant": 9002313,
               "invalid_request": 90002, "invalid_client": 700016}
    descriptions = {
        "authorization_pending": "OAuth 2.0 device flow error. Authorization is pending. "
                                 "Continue polling.",
        "authorization_declined": "The user declined the authorization request.",
        "expired_token": "The provided value for the input parameter 'device_code' is not "
                         "valid. This device code has expired.",
        "bad_verification_code": "The provided value for the input parameter 'device_code' "
                                 "is not valid.",
        "invalid_grant": "Invalid request. The refresh token is malformed or not valid."}
    denied_error = "authorization_declined"
    users = {"adele": {"@odata.context":
                       "https://graph.microsoft.com/v1.0/$metadata#users/$entity",
                       "businessPhones": ["+1 425 555 0109"], "displayName": "Adele Vance",
                       "givenName": "Adele", "jobTitle": "Retail Manager",
                       "mail": "AdeleV@contoso.onmicrosoft.com", "mobilePhone": None,
                       "officeLocation": "18/2111", "preferredLanguage": "en-US",
                       "surname": "Vance",
                       "userPrincipalName": "AdeleV@contoso.onmicrosoft.com",
                       "id": "87d349ed-44d7-43e1-9a83-5f2406dee5bd"}}
    _path = re.compile(r"^/([^/]+)/oauth2/v2\.0/(devicecode|token)$")

    def route(self, req):
        if req.path == "/v1.0/me":
            return self.userinfo
        m = self._path.match(req.path)
        if not m:
            return None
        if m.group(1) not in self.tenants:
            return lambda r: self.error(r, "invalid_request", "Tenant '%s' not found. Check to "
                                        "make sure you have the correct tenant ID" % m.group(1))
        return self.device if m.group(2) == "devicecode" else self.token

    def error(self, req, err, desc=None, **extra):
        code = self._aadsts.get(err, 50000)
        d = "AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: " \
            "2025-11-02 10:00:00Z" % (code, desc or self.descriptions.get(err, err),
                                      secrets.token_hex(8), secrets.token_hex(8))
        body = {"error": err, "error_description": d, "error_codes": [code],
                "timestamp": "2025-11-02 10:00:00Z", "trace_id": secrets.token_hex(16),
                "correlation_id": secrets.token_hex(16),
                "error_uri": "https://login.microsoftonline.com/error?code=%d" % code}
        return jreply(401 if err == "invalid_client" else 400, body)

    def on_unknown_code(self, req):
        return self.error(req, "bad_verification_code")

    def new_user_code(self, cid):
        return code_from(ALNUM, (9,))

    def device_body(self, req, dc, rec):
        uc = rec["user_code"]
        return {"user_code": uc, "device_code": dc,
                "verification_uri": "https://microsoft.com/devicelogin",
                "expires_in": self.expires_in, "interval": self.interval,
                "message": "To sign in, use a web browser to open the page "
                           "https://microsoft.com/devicelogin and enter the code %s to "
                           "authenticate." % uc}

    def new_token(self, kind):
        n = {"at": 1400, "rt": 1000}.get(kind, 30)
        return ("eyJ0eXAiOiJKV1QiLCJub25jZSI6" if kind == "at" else "1.AQoA") + \
            secrets.token_urlsafe(n)

    def token_fields(self, rec, d):
        scopes = [s for s in d.get("scope", "").split() if s != "offline_access"]
        d["scope"] = " ".join(s.replace("https://graph.microsoft.com/", "") for s in scopes)
        d["expires_in"] = 4398
        d["ext_expires_in"] = 4398
        if "openid" in scopes:
            d["id_token"] = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9." + secrets.token_urlsafe(900)
        return d

    def userinfo(self, req):
        info = self.access.get(req.bearer() or "")
        if info is None:
            return jreply(401, {"error": {"code": "InvalidAuthenticationToken",
                                          "message": "Access token is empty." if not
                                          req.bearer() else "IDX14100: JWT is not well formed"}})
        if "user.read" not in info["scope"].lower().replace("https://graph.microsoft.com/",
                                                            "").split():
            return jreply(403, {"error": {"code": "Authorization_RequestDenied",
                                          "message": "Insufficient privileges to complete "
                                                     "the operation."}})
        return jreply(200, self.users[info["user"]])


class Google(FakeProvider):
    """Google: /device/code answers ``verification_url`` (no _complete), the token request
    needs the client secret, pending is 428, slow_down and access_denied are 403, device-code
    quota errors are 403 ``{"error_code": ...}``; user codes are case-sensitive; refresh
    tokens do not rotate; userinfo is the OpenID Connect one."""

    name = "google"
    expires_in = 1800
    refresh_needs_scope = None
    rotate = False
    case_sensitive_codes = True
    statuses = {"authorization_pending": 428, "slow_down": 403, "access_denied": 403,
                "invalid_client": 401}
    descriptions = {"authorization_pending": "Precondition Required",
                    "slow_down": "Forbidden", "access_denied": "Forbidden",
                    "expired_token": "Bad Request",
                    "invalid_grant": "Token has been expired or revoked."}
    client_id = "123456789012-fake.apps.googleusercontent.com"
    client_secret = "GOCSPX-fakefakefakefakefakefake"
    allowed = ("openid", "email", "profile", "https://www.googleapis.com/auth/userinfo.email",
               "https://www.googleapis.com/auth/userinfo.profile",
               "https://www.googleapis.com/auth/drive.file",
               "https://www.googleapis.com/auth/youtube.readonly")
    users = {"grace": {"sub": "110169484474386276334", "name": "Grace Hopper",
                       "given_name": "Grace", "family_name": "Hopper",
                       "picture": "https://lh3.googleusercontent.com/a/fake",
                       "email": "grace@example.com", "email_verified": True}}

    def route(self, req):
        return {"/device/code": self.device, "/token": self.token,
                "/v1/userinfo": self.userinfo}.get(req.path)

    def check_client(self, req, cid, grant):
        if cid != self.client_id:
            return self.error(req, "invalid_client", "The OAuth client was not found.")
        if grant == "device":
            if self.knobs.get("device_quota", -1) == 0:
                return jreply(403, {"error_code": "rate_limit_exceeded"})
            if self.knobs.get("device_quota", -1) > 0:
                self.knobs["device_quota"] -= 1
            return None
        secret = req.form.get("client_secret")
        if not secret:
            return self.error(req, "invalid_request", "client_secret is missing.")
        if secret != self.client_secret:
            return self.error(req, "invalid_client", "Unauthorized")

    def check_scope(self, req, scope):
        for s in scope.split():
            if s not in self.allowed:
                return self.error(req, "invalid_scope", "Invalid device flow scope: " + s)

    def new_user_code(self, cid):
        return code_from("BCDFGHJKLMNPQRSTVWXZ", (4, 4))

    def new_device_code(self):
        return "AH-1Ng" + secrets.token_urlsafe(60)

    def device_body(self, req, dc, rec):
        return {"device_code": dc, "user_code": rec["user_code"],
                "expires_in": self.expires_in, "interval": self.interval,
                "verification_url": "https://www.google.com/device"}

    def new_token(self, kind):
        return ("ya29.a0" if kind == "at" else "1//0g") + secrets.token_urlsafe(90)

    def token_fields(self, rec, d):
        scopes = []
        for s in d.get("scope", "").split():
            if s in ("email", "profile"):
                s = "https://www.googleapis.com/auth/userinfo." + s
            scopes.append(s)
        d["scope"] = " ".join(scopes)
        d["expires_in"] = 3599
        if "openid" in scopes:
            d["id_token"] = "eyJhbGciOiJSUzI1NiJ9." + secrets.token_urlsafe(700)
        return d

    def unauthorized(self, req):
        return jreply(401, {"error": "invalid_request", "error_description":
                            "Invalid Credentials"},
                      {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", '
                                           'error="invalid_token"'})


class GitHub(FakeProvider):
    """GitHub: /login/device/code and /login/oauth/access_token answer form-encoded unless
    the request says ``Accept: application/json``; errors come with HTTP 200; every early
    poll adds 5 s to the code's interval and slow_down carries the new ``interval``; OAuth
    apps get no refresh token, GitHub Apps (client ids "Iv...") get expiring, rotating ones
    (refresh needs the client secret); GET /user (and /api/v3/user, GHES) needs a
    User-Agent."""

    name = "github"
    expires_in = 899
    refresh_needs_scope = None
    descriptions = {
        "authorization_pending": "The authorization request is still pending.",
        "slow_down": "Too many requests have been made in the same timeframe.",
        "expired_token": "The device_code has expired.",
        "access_denied": "The authorization request was denied.",
        "incorrect_device_code": "The device_code provided is not valid.",
        "incorrect_client_credentials": "The client_id and/or client_secret passed are "
                                        "incorrect.",
        "device_flow_disabled": "Device Flow must be explicitly enabled for this App",
        "unsupported_grant_type": "The grant type is not supported.",
        "bad_refresh_token": "The refresh token passed is incorrect or expired."}
    clients = {"Ov23liFakeOAuthApp01": None, "Iv23liFakeGitHubApp1": "fake-gh-app-secret",
               "Ov23liFakeDisabled01": None}
    users = {"octocat": {"login": "octocat", "id": 583231, "node_id": "MDQ6VXNlcjU4MzIzMQ==",
                         "avatar_url": "https://avatars.githubusercontent.com/u/583231?v=4",
                         "type": "User", "site_admin": False, "name": "The Octocat",
                         "company": "@github", "blog": "https://github.blog",
                         "location": "San Francisco", "email": None, "bio": None,
                         "public_repos": 8, "followers": 9999, "following": 9,
                         "created_at": "2011-01-25T18:44:36Z"},
             "hubot": {"login": "hubot", "id": 480938, "type": "User", "name": None,
                       "email": None}}

    def route(self, req):
        if req.path in ("/user", "/api/v3/user") and req.method == "GET":
            return self.userinfo
        return {"/login/device/code": self.device,
                "/login/oauth/access_token": self.token}.get(req.path)

    def _reply(self, req, d):
        if "application/json" in req.headers.get("accept", ""):
            return jreply(200, d)
        import urllib.parse

        return Reply(200, urllib.parse.urlencode(d), FORM + "; charset=utf-8")

    def error(self, req, err, desc=None, **extra):
        d = {"error": err, "error_description": desc or self.descriptions.get(err, err),
             "error_uri": "https://docs.github.com/developers/apps/authorizing-oauth-apps"
                          "#error-codes-for-the-device-flow"}
        d.update(extra)
        return self._reply(req, d)

    def tokens_reply(self, req, d):
        return self._reply(req, d)

    def check_client(self, req, cid, grant):
        if cid not in self.clients:
            return Reply(404, "Not Found", "text/plain")  # undocumented: the strict side
        if grant == "device" and "Disabled" in cid:
            return self.error(req, "device_flow_disabled")
        if grant == "refresh" and req.form.get("client_secret") != self.clients[cid]:
            return self.error(req, "incorrect_client_credentials")

    def on_unknown_code(self, req):
        return self.error(req, "incorrect_device_code")

    def on_slow_down(self, req, rec):
        return self.error(req, "slow_down", interval=rec["interval"])

    def device_body(self, req, dc, rec):
        return {"device_code": dc, "user_code": rec["user_code"],
                "verification_uri": "https://github.com/login/device",
                "expires_in": self.expires_in, "interval": self.interval}

    def new_user_code(self, cid):
        return code_from("BCDFGHJKLMNPQRSTVWXZ0123456789", (4, 4))

    def _app(self, cid):
        return cid.startswith("Iv")

    def issue(self, rec, scope, user, cid, first):
        at = ("ghu_" if self._app(cid) else "gho_") + secrets.token_urlsafe(27)
        self.access[at] = {"user": user, "scope": scope, "client_id": cid}
        if not self._app(cid):
            return {"access_token": at, "token_type": "bearer", "scope": scope}
        rt = "ghr_" + secrets.token_urlsafe(60)
        self.refresh[rt] = {"user": user, "scope": "", "client_id": cid, "valid": True}
        return {"access_token": at, "expires_in": 28800, "refresh_token": rt,
                "refresh_token_expires_in": 15811200, "scope": "", "token_type": "bearer"}

    def bad_refresh(self, req):
        return self.error(req, "bad_refresh_token")

    def userinfo(self, req):
        if not req.headers.get("user-agent", "").strip():
            return Reply(403, "Request forbidden by administrative rules. Please make sure "
                         "your request has a User-Agent header (https://docs.github.com/en/"
                         "rest/overview/resources-in-the-rest-api#user-agent-required). Check "
                         "https://developer.github.com for other possible causes.\n",
                         "text/html; charset=utf-8")
        info = self.access.get(req.bearer() or "")
        if info is None:
            return jreply(401, {"message": "Bad credentials",
                                "documentation_url": "https://docs.github.com/rest",
                                "status": "401"})
        return jreply(200, self.users[info["user"]])


class Okta(FakeProvider):
    """Okta: custom authorization servers at /oauth2/{id}/v1/..., the org server at
    /oauth2/v1/...; device/authorize, token, userinfo; 8-letter user codes without a dash;
    rotating refresh tokens; 401 userinfo answers with only a WWW-Authenticate header."""

    name = "okta"
    servers = (None, "default", "aus1fakecustom")
    descriptions = {
        "authorization_pending": "The device authorization is pending. Please try again "
                                 "later.",
        "slow_down": "The client is polling too frequently.",
        "access_denied": "The resource owner or authorization server denied the request.",
        "expired_token": "The device code is expired.",
        "invalid_grant": "The refresh token is invalid or expired."}
    users = {"katherine": {"sub": "00u1fakeKJ8abcDEF4x7", "name": "Katherine Johnson",
                           "locale": "en_US", "email": "katherine@example.com",
                           "preferred_username": "katherine@example.com",
                           "given_name": "Katherine", "family_name": "Johnson",
                           "zoneinfo": "America/Los_Angeles", "updated_at": 1761998400,
                           "email_verified": True}}
    _path = re.compile(r"^/oauth2(?:/([^/]+))?/v1/(device/authorize|token|userinfo)$")

    def route(self, req):
        m = self._path.match(req.path)
        if not m:
            return None
        if m.group(1) not in self.servers:
            return lambda r: jreply(404, {"errorCode": "E0000007", "errorSummary":
                                          "Not found: Resource not found: %s (AuthorizationServer)"
                                          % m.group(1)})
        req.auth_server = m.group(1)
        return {"device/authorize": self.device, "token": self.token,
                "userinfo": self.userinfo}[m.group(2)]

    def device_body(self, req, dc, rec):
        rec["auth_server"] = req.auth_server
        return FakeProvider.device_body(self, req, dc, rec)

    def new_user_code(self, cid):
        return code_from("BCDFGHJKLMNPQRSTVWXZ", (8,))

    def unauthorized(self, req):
        return Reply(401, b"", "application/json", {
            "WWW-Authenticate": 'Bearer authorization_uri="%s/oauth2/v1/authorize", '
                                'realm="%s", scope="openid", error="invalid_token", '
                                'error_description="The access token is invalid."'
                                % (self.url, self.url)})


class Keycloak(FakeProvider):
    """Keycloak: /realms/{realm}/protocol/openid-connect/{auth/device,token,userinfo} and a
    full discovery document (realm "iot" sends it chunked, pretty-printed, with escaped
    slashes; realm "moved" has a stale frontend URL, so its document names another issuer);
    refresh tokens rotate, the old ones stay valid (Keycloak's default)."""

    name = "keycloak"
    realms = ("devices", "iot", "moved")
    descriptions = {"authorization_pending": "The authorization request is still pending",
                    "slow_down": "Slow down", "access_denied": "Consent denied",
                    "expired_token": "Device code is expired",
                    "invalid_grant": "Device code not valid"}
    revoke_old = False
    users = {"margaret": {"sub": "f3c2a8f4-6a3e-4b8e-9e8c-1a2b3c4d5e6f", "email_verified": True,
                          "name": "Margaret Hamilton", "preferred_username": "margaret",
                          "given_name": "Margaret", "family_name": "Hamilton",
                          "email": "margaret@example.com"}}
    _path = re.compile(r"^/realms/([^/]+)/(protocol/openid-connect/(auth/device|token|userinfo)"
                       r"|\.well-known/openid-configuration)$")

    def route(self, req):
        m = self._path.match(req.path)
        if not m:
            return None
        if m.group(1) not in self.realms:
            return lambda r: jreply(404, {"error": "Realm does not exist"})
        req.realm = m.group(1)
        if m.group(3) is None:
            return self.discovery
        return {"auth/device": self.device, "token": self.token,
                "userinfo": self.userinfo}[m.group(3)]

    def device_body(self, req, dc, rec):
        d = FakeProvider.device_body(self, req, dc, rec)
        d["verification_uri"] = "%s/realms/%s/device" % (self.url, req.realm)
        d["verification_uri_complete"] = d["verification_uri"] + "?user_code=" + \
            rec["user_code"]
        return d

    def token_fields(self, rec, d):
        offline = "offline_access" in d.get("scope", "").split()
        d["expires_in"] = 300
        d["refresh_expires_in"] = 0 if offline else 1800
        d["not-before-policy"] = 0
        d["session_state"] = "5b1d5e0a-3c1f-4a6e-9f6a-0d8e7c6b5a49"
        if "openid" in d.get("scope", "").split():
            d["id_token"] = "eyJhbGciOiJSUzI1NiJ9." + secrets.token_urlsafe(500)
        return d

    def issuer(self, realm):
        if realm == "moved":  # a stale frontend URL: the document names another host
            return "https://sso.example/realms/moved"
        return "%s/realms/%s" % (self.url, realm)

    def discovery_doc(self, realm):
        iss = self.issuer(realm)
        oc = iss + "/protocol/openid-connect"
        algs = ["PS384", "RS384", "EdDSA", "ES384", "HS256", "HS512", "ES256", "RS256",
                "HS384", "ES512", "PS256", "PS512", "RS512"]
        mtls = {k: oc + "/" + v for k, v in (
            ("token_endpoint", "token"), ("revocation_endpoint", "revoke"),
            ("introspection_endpoint", "token/introspect"),
            ("device_authorization_endpoint", "auth/device"),
            ("registration_endpoint", "../clients-registrations/openid-connect"),
            ("userinfo_endpoint", "userinfo"), ("pushed_authorization_request_endpoint",
                                                 "ext/par/request"),
            ("backchannel_authentication_endpoint", "ext/ciba/auth"))}
        mtls = {k: v.replace("/protocol/openid-connect/", "/mtls/") for k, v in mtls.items()}
        doc = {"mtls_endpoint_aliases": mtls,  # decoys first: same key names, one level down
               "issuer": iss, "authorization_endpoint": oc + "/auth",
               "token_endpoint": oc + "/token", "introspection_endpoint": oc + "/token/introspect",
               "userinfo_endpoint": oc + "/userinfo", "end_session_endpoint": oc + "/logout",
               "frontchannel_logout_session_supported": True,
               "frontchannel_logout_supported": True, "jwks_uri": oc + "/certs",
               "check_session_iframe": oc + "/login-status-iframe.html",
               "grant_types_supported": ["authorization_code", "implicit", "refresh_token",
                                         "password", "client_credentials",
                                         "urn:openid:params:grant-type:ciba",
                                         "urn:ietf:params:oauth:grant-type:device_code"],
               "acr_values_supported": ["0", "1"],
               "response_types_supported": ["code", "none", "id_token", "token",
                                            "id_token token", "code id_token", "code token",
                                            "code id_token token"],
               "subject_types_supported": ["public", "pairwise"],
               "prompt_values_supported": ["none", "login", "consent"],
               "id_token_signing_alg_values_supported": algs,
               "id_token_encryption_alg_values_supported": ["ECDH-ES+A256KW", "RSA-OAEP-256",
                                                            "RSA1_5", "RSA-OAEP"],
               "id_token_encryption_enc_values_supported": ["A256GCM", "A192GCM", "A128GCM",
                                                            "A128CBC-HS256"],
               "userinfo_signing_alg_values_supported": algs + ["none"],
               "request_object_signing_alg_values_supported": algs + ["none"],
               "response_modes_supported": ["query", "fragment", "form_post", "query.jwt",
                                            "fragment.jwt", "form_post.jwt", "jwt"],
               "registration_endpoint": iss + "/clients-registrations/openid-connect",
               "token_endpoint_auth_methods_supported": [
                   "private_key_jwt", "client_secret_basic", "client_secret_post",
                   "tls_client_auth", "client_secret_jwt"],
               "token_endpoint_auth_signing_alg_values_supported": algs,
               "claims_supported": ["aud", "sub", "iss", "auth_time", "name", "given_name",
                                    "family_name", "preferred_username", "email", "acr"],
               "claim_types_supported": ["normal"], "claims_parameter_supported": True,
               "scopes_supported": ["openid", "offline_access", "profile", "email",
                                    "address", "phone", "roles", "web-origins", "acr",
                                    "microprofile-jwt", "basic", "organization"],
               "request_parameter_supported": True, "request_uri_parameter_supported": True,
               "require_request_uri_registration": True,
               "code_challenge_methods_supported": ["plain", "S256"],
               "tls_client_certificate_bound_access_tokens": True,
               "revocation_endpoint": oc + "/revoke",
               "backchannel_logout_supported": True,
               "backchannel_logout_session_supported": True,
               "device_authorization_endpoint": oc + "/auth/device",
               "backchannel_token_delivery_modes_supported": ["poll", "ping"],
               "backchannel_authentication_endpoint": oc + "/ext/ciba/auth",
               "require_pushed_authorization_requests": False,
               "pushed_authorization_request_endpoint": oc + "/ext/par/request",
               "authorization_response_iss_parameter_supported": True}
        return doc

    def discovery(self, req):
        doc = self.discovery_doc(req.realm)
        if req.realm == "iot":
            text = json.dumps(doc, indent=4).replace("/", "\\/")
            return Reply(200, text, "application/json;charset=UTF-8", chunked=True)
        return jreply(200, doc)

    def unauthorized(self, req):
        return jreply(401, {"error": "invalid_token", "error_description":
                            "Token verification failed"},
                      {"WWW-Authenticate": 'Bearer realm="devices", error="invalid_token"'})


class Proxy(FakeProvider):
    """A device-flow proxy like aaronpk/Device-Flow-Proxy-Server: /device/code (6-digit user
    codes, verification_uri {base}/device, no _complete, 300 s), /device/token (invalid_grant
    for unknown, expired, used or failed codes; slow_down without escalation; the raw upstream
    token response). A sign-in failure upstream deletes the code (deny here). The upstream
    server's token endpoint (refresh) and user API are played at /upstream/*."""

    name = "proxy"
    expires_in = 300
    escalate = False
    refresh_needs_scope = None
    rotate = False
    users = {"alan": {"sub": "u-42", "login": "aturing", "email": "alan@example.com"}}

    def route(self, req):
        return {"/device/code": self.device, "/device/token": self.device_token,
                "/upstream/token": self.token, "/upstream/userinfo": self.userinfo,
                }.get(req.path)

    def device_token(self, req):
        f = req.form
        if not (f.get("device_code") and f.get("client_id") and f.get("grant_type")):
            return self.error(req, "invalid_request")
        if f["grant_type"] != "urn:ietf:params:oauth:grant-type:device_code":
            return self.error(req, "unsupported_grant_type", "Only 'urn:ietf:params:oauth:"
                              "grant-type:device_code' is supported.")
        return self.poll(req)

    def control(self, req):
        if req.path == "/_fake/deny":  # the upstream sign-in failed: the code is deleted
            dc = self.user_codes.pop(self.normalise(req.form.get("user_code", "")), None)
            if dc is None:
                return jreply(404, {"error": "no such user code"})
            self.codes.pop(dc, None)
            return jreply(200, {"status": "deleted"})
        return FakeProvider.control(self, req)

    def new_user_code(self, cid):
        return str(secrets.randbelow(900000) + 100000)

    def device_body(self, req, dc, rec):
        return {"device_code": dc, "user_code": rec["user_code"],
                "verification_uri": self.url + "/device", "expires_in": self.expires_in,
                "interval": self.interval}

    def on_expired(self, req, rec):
        return self.error(req, "invalid_grant")


ALL = (Auth0, Entra, Google, GitHub, Okta, Keycloak, Proxy)


def env_name(cls):
    return "DEVICEPAIR_FAKE_" + cls.name.upper()


def start_all():
    """Start every fake -> (list of fakes, {env var: base URL})."""
    from fake_oauth import wait_port

    fakes = [cls().start() for cls in ALL]
    for f in fakes:
        wait_port(f)
    return fakes, {env_name(type(f)): f.url for f in fakes}


def stop_all(fakes):
    for f in fakes:
        f.stop()
