"""The Entra preset against its local fake (both interpreters): pairing with JWT-sized tokens,
rotating refresh, Graph /me, and Entra's accents: the message field, authorization_declined
(DENIED), bad_verification_code, AADSTS error bodies, User.Read for Graph."""

# Entra's token responses are ~5 KB (JWT access token, refresh token, id_token) and the body is
# read into one buffer: on the 64-bit unix port (pointers twice a board's) a 64 KB heap holding
# the library and the test harness has no 5 KB hole left. Boards have 110 KB (ESP32) or more.
MP_HEAP = "128K"

from fakectl import cfg, pair, start, run, refresh, who
from devicepair import providers as P
from devicepair import device_flow as df
from devicepair.errors import PairingRequired


def test_entra_pairing_message_refresh_and_graph_me():
    c = cfg("entra", "00000000-0000-0000-0000-00000000c1d0", tenant="contoso.onmicrosoft.com")
    p = P.resolve(c)
    assert p.token_endpoint.endswith("/contoso.onmicrosoft.com/oauth2/v2.0/token")
    assert p.whoami_url.endswith("/v1.0/me") and "User.Read" in p.scope.split()
    f = pair(p, c, "entra", after=2)
    assert f.state == df.DONE
    assert f.verification_uri == "https://microsoft.com/devicelogin"
    assert f.verification_uri_complete is None
    assert f.message.startswith("To sign in") and f.user_code in f.message
    # the ~1.9 KB access token arrives whole; the id_token is never kept (nothing reads it)
    assert len(f.tokens["access_token"]) > 1000 and "id_token" not in f.tokens
    assert who(p, f.tokens["access_token"]) == "Adele Vance"
    rt = f.tokens["refresh_token"]
    f = None  # ~4.5 KB of tokens: a 64 KB heap has no room for two sets at once
    new = refresh(p, c, rt)["refresh_token"]
    assert new != rt and len(new) > 1000
    assert refresh(p, c, rt)["access_token"]  # Entra: the old refresh token still works
    try:
        refresh(p, c, "1.AQoA-not-a-token")
        assert False
    except PairingRequired as e:
        assert e.error == "invalid_grant" and e.description.startswith("AADSTS")


def test_entra_declined_is_denied_and_unknown_tenant_fails():
    c = cfg("entra", "c1", tenant="common")
    p = P.resolve(c)
    f = pair(p, c, "entra", after=1, deny=True)
    assert f.state == df.DENIED and f.error.error == "access_denied"
    c = cfg("entra", "c1", tenant="nosuch.onmicrosoft.com")
    try:
        start(P.resolve(c), c)
        assert False
    except df.ProviderError as e:
        assert e.error == "invalid_request" and "AADSTS90002" in e.description


def test_entra_bad_verification_code_means_start_again():
    c = cfg("entra", "c1", tenant="common")
    p = P.resolve(c)
    f = start(p, c)
    f.device_code = "not-a-code"
    run(f, "entra", after=None)
    assert f.state == df.EXPIRED


def test_entra_scope_gets_user_read_graph_refuses_without_it():
    c = cfg("entra", "c1", tenant="common", scope="openid offline_access")
    p = P.resolve(c)
    assert p.scope == "openid offline_access User.Read"
    c = cfg("entra", "c1", tenant="common", scope="api://my-api/Data.Read offline_access")
    p = P.resolve(c)
    assert p.whoami_url is None and p.scope == c.scope  # another resource: no Graph token
    # a token without User.Read: Graph says 403, the board shows no name
    c = cfg("entra", "c1", tenant="common", scope="openid offline_access",
            userinfo_endpoint=P.resolve(cfg("entra", "c1", tenant="common")).whoami_url)
    p = P.resolve(c)
    assert p.scope == "openid offline_access"  # explicit user API: scope left alone
    f = pair(p, c, "entra")
    assert who(p, f.tokens["access_token"]) == 403
