"""The Auth0 preset against its local fake (both interpreters): pairing, rotating refresh,
who-am-I, and Auth0's accents: 403 pending, 429 slow_down, expired_token once then
invalid_grant, digit-group user codes, the audience parameter."""

# The device flow (hardened parsing, URI checks, resume) with HTTP and this module: 64 KB
# became the edge on the 64-bit unix port; a 32-bit board needs less.
MP_HEAP = "96K"

from fakectl import cfg, pair, start, run, refresh, ctl, transport, who
from devicepair import providers as P
from devicepair import device_flow as df
from devicepair.errors import PairingRequired


def test_auth0_pairing_refresh_and_whoami():
    c = cfg("auth0", "auth0-client", extra_params={"audience": "https://api.example"})
    p = P.resolve(c)
    assert p.scope == "openid profile email offline_access"
    f = pair(p, c, "auth0", after=2)
    assert f.state == df.DONE and f.polls == 3
    assert len(f.user_code) == 9 and f.user_code[4] == "-"
    assert f.verification_uri_complete.endswith("?user_code=" + f.user_code)
    assert who(p, f.tokens["access_token"]) == "Ada Lovelace"
    rt = f.tokens["refresh_token"]
    new = refresh(p, c, rt)
    assert new["refresh_token"] != rt and new["access_token"] != f.tokens["access_token"]
    assert who(p, new["access_token"]) == "Ada Lovelace"
    try:  # rotation: the old refresh token is spent
        refresh(p, c, rt)
        assert False, "reused refresh token accepted"
    except PairingRequired as e:
        assert e.error == "invalid_grant" and e.status == 403


def test_auth0_audience_param_and_digit_codes():
    c = cfg("auth0", "auth0-digits", audience="https://api.example")
    p = P.resolve(c)
    assert p.extra_params == {"audience": "https://api.example"}
    f = start(p, c)
    assert len(f.user_code) == 15 and f.user_code.replace("-", "").isdigit()
    st = ctl("auth0", "code", user_code=f.user_code)
    assert st["params"]["audience"] == "https://api.example"
    run(f, "auth0")
    assert f.state == df.DONE, (f.state, f.error and f.error.message)


def test_auth0_expired_token_once_then_invalid_grant():
    c = cfg("auth0", "auth0-client")
    p = P.resolve(c)
    f = start(p, c)
    dc = f.device_code
    ctl("auth0", "advance", ms=f.expires_in * 1000)  # the server's clock ran out first
    run(f, "auth0", after=None)
    assert f.state == df.EXPIRED and f.error.error == "expired_token" and f.polls == 1
    code = ctl("auth0", "code", user_code=f.user_code)
    assert code["polls"] == 1
    # a second poll with the same device code: Auth0 has forgotten it
    r = transport().post_form(p.token_endpoint, {"grant_type": df.GRANT,
                                                 "client_id": c.client_id, "device_code": dc})
    assert r.status_code == 403 and r.json()["error"] == "invalid_grant"


def test_auth0_denied_and_slow_down_429():
    c = cfg("auth0", "auth0-client")
    p = P.resolve(c)
    f = pair(p, c, "auth0", after=1, deny=True)
    assert f.state == df.DENIED and f.error.status == 403
    f = start(p, c)
    ctl("auth0", "advance", ms=5000)
    f.clock.advance(5000)
    f.step()  # pending
    f.clock.advance(5000)  # the server saw only 2 s: too early
    ctl("auth0", "advance", ms=2000)
    f.step()
    assert f.interval_ms == 10000 and f.state == df.POLLING
    assert ctl("auth0", "log", n=1)[0]["path"] == "/oauth/token"
