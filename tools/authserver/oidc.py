"""OpenID Connect parts: the id_token added to token responses, and the userinfo endpoint.

Both come from Authlib (OpenIDToken extension, UserInfoEndpoint); this module fills in the
server-specific bits: issuer, RS256 key with kid, and the demo users' standard claims.
"""

import secrets
import time

from authlib.oidc.core import OpenIDToken, UserInfo, UserInfoEndpoint


def user_claims(user, scope):
    """Standard claims of a demo user, filtered by scope as OIDC Core 5.4 says."""
    given, _, family = user["name"].partition(" ")
    info = UserInfo(
        sub=user["sub"],
        name=user["name"],
        given_name=given,
        family_name=family or given,
        preferred_username=user["username"],
        locale="en",
        zoneinfo="UTC",
        email=user["username"] + "@example.invalid",
        email_verified=True,
    )
    return info.filter(scope)


class IdToken(OpenIDToken):
    """id_token for device_code and refresh_token grants when the scope has openid."""

    def __init__(self, server):
        self.srv = server

    def resolve_client_private_key(self, client):
        return self.srv.key

    def get_client_algorithm(self, client):
        return "RS256"

    def get_encode_header(self, client):
        return {"alg": "RS256", "kid": self.srv.key.kid, "typ": "JWT"}

    def get_compatible_claims(self, request):
        now = int(time.time())
        if request.refresh_token is not None:
            auth_time = request.refresh_token.row["auth_time"]
        else:
            auth_time = request.credential["decided_at"]
        cid = request.client.get_client_id()
        return {
            "iss": self.srv.cfg.public_url,
            "aud": cid,
            "azp": cid,
            "iat": now,
            "exp": now + self.srv.cfg.id_token_ttl,
            "auth_time": int(auth_time),
            "amr": ["pwd"],
            "jti": secrets.token_urlsafe(16),
        }

    def generate_user_info(self, user, scope):
        return user_claims(user, scope)


class UserInfoEp(UserInfoEndpoint):
    """authlib's endpoint: needs an access token whose scope includes openid."""

    def generate_user_info(self, user, scope):
        return user_claims(user, scope)

    def get_issuer(self):
        return self.server.cfg.public_url

    def resolve_private_key(self):
        return self.server.key
