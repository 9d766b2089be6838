"""Okta and Keycloak presets against their fakes (both interpreters): authorization-server
paths (custom, default, org), realm paths, user codes, rotating refresh tokens, userinfo."""

# The device flow (hardened parsing, URI checks, resume) with HTTP and this module: 64 KB
# became the edge on the 64-bit unix port; a 32-bit board needs less.
MP_HEAP = "96K"

from fakectl import cfg, pair, start, refresh, url, who
from devicepair import providers as P
from devicepair import device_flow as df
from devicepair.errors import PairingRequired, ProviderError, ResponseError


def test_okta_default_server_pairing_refresh_and_userinfo():
    c = cfg("okta", "0oafakeclient")
    p = P.resolve(c)
    assert p.device_authorization_endpoint == url("okta") + "/oauth2/default/v1/device/authorize"
    f = pair(p, c, "okta", after=2)
    assert f.state == df.DONE
    assert len(f.user_code) == 8 and f.user_code.isalpha()  # no dash
    assert f.verification_uri_complete.endswith("/activate?user_code=" + f.user_code)
    assert who(p, f.tokens["access_token"]) == "Katherine Johnson"
    rt = f.tokens["refresh_token"]
    f = None
    assert refresh(p, c, rt)["refresh_token"] != rt
    try:  # Okta rotates: the old one is gone
        refresh(p, c, rt)
        assert False
    except PairingRequired as e:
        assert e.error == "invalid_grant"


def test_okta_org_and_custom_servers_and_public_urls():
    for srv, path in (("org", "/oauth2/v1"), ("aus1fakecustom", "/oauth2/aus1fakecustom/v1")):
        c = cfg("okta", "0oafakeclient", auth_server=srv)
        p = P.resolve(c)
        assert p.token_endpoint == url("okta") + path + "/token"
        assert pair(p, c, "okta").state == df.DONE
    c = cfg("okta", "0oafakeclient", auth_server="nosuch")
    try:
        start(P.resolve(c), c)
        assert False
    except ResponseError as e:
        assert e.status == 404
    p = P.resolve(cfg("okta", "x", fake=False, domain="https://dev-123.okta.com/"))
    assert p.whoami_url == "https://dev-123.okta.com/oauth2/default/v1/userinfo"


def test_keycloak_pairing_refresh_and_userinfo():
    c = cfg("keycloak", "devicepair-board", realm="devices")
    p = P.resolve(c)
    assert p.token_endpoint == url("keycloak") + "/realms/devices/protocol/openid-connect/token"
    f = pair(p, c, "keycloak", after=1)
    assert f.state == df.DONE and f.tokens["expires_in"] == 300
    assert f.verification_uri.endswith("/realms/devices/device")
    assert who(p, f.tokens["access_token"]) == "Margaret Hamilton"
    rt = f.tokens["refresh_token"]
    f = None
    assert refresh(p, c, rt)["refresh_token"] != rt
    assert refresh(p, c, rt)["access_token"]  # Keycloak's default: the old one stays valid


def test_keycloak_denied_unknown_realm_and_bad_token():
    c = cfg("keycloak", "devicepair-board", realm="devices")
    p = P.resolve(c)
    f = pair(p, c, "keycloak", deny=True)
    assert f.state == df.DENIED and f.error.description == "Consent denied"
    assert who(p, "not-a-token") == 401
    c = cfg("keycloak", "devicepair-board", realm="nosuch")
    try:
        start(P.resolve(c), c)
        assert False
    except ProviderError as e:
        assert e.error == "Realm does not exist" and e.status == 404
