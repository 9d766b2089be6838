"""The generic preset (both interpreters): explicit endpoints, and an issuer discovered on the
board (Keycloak's chunked, pretty-printed document with escaped slashes and decoy mTLS aliases
first) followed by a whole pairing. Issuer problems: test_discovery_stream.py."""

# The device flow (hardened parsing, URI checks, resume) with HTTP and this module: 64 KB
# became the edge on the 64-bit unix port; a 32-bit board needs less.
MP_HEAP = "96K"

from fakectl import cfg, pair, refresh, transport, url, who
from devicepair import providers as P
from devicepair import device_flow as df


def test_generic_with_explicit_endpoints():
    base = url("okta") + "/oauth2/default/v1"
    c = cfg("generic", "0oafakeclient", fake=False, device_authorization_endpoint=base +
            "/device/authorize", token_endpoint=base + "/token",
            userinfo_endpoint=base + "/userinfo")
    p = P.resolve(c)
    assert p.scope == P.CONFIG_DEFAULT_SCOPE and p.quirks == {}
    f = pair(p, c, "okta")
    assert f.state == df.DONE and who(p, f.tokens["access_token"]) == "Katherine Johnson"
    rt = f.tokens["refresh_token"]
    f = None
    assert refresh(p, c, rt)["refresh_token"] != rt


def test_generic_issuer_discovered_on_the_board():
    iss = url("keycloak") + "/realms/iot"
    c = cfg("generic", "devicepair-board", fake=False, issuer=iss)
    p = P.resolve(c, transport())  # discovery.py is loaded for this and dropped again
    oc = iss + "/protocol/openid-connect"
    assert p.device_authorization_endpoint == oc + "/auth/device"  # not the mTLS decoys
    assert p.token_endpoint == p.refresh_endpoint == oc + "/token"
    assert p.whoami_url == oc + "/userinfo"
    f = pair(p, c, "keycloak")
    assert f.state == df.DONE and who(p, f.tokens["access_token"]) == "Margaret Hamilton"
