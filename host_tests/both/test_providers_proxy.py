"""The proxy preset against a fake in the style of aaronpk/Device-Flow-Proxy-Server (both
interpreters): 6-digit codes, the QR URL from the complete_uri quirk, invalid_grant for gone
codes (EXPIRED), refresh and who-am-I at the upstream server - or, without an upstream
token_endpoint, refresh at the proxy's own /device/token (tools/deviceproxy forwards it)."""

# The device flow (hardened parsing, URI checks, resume) with HTTP and this module: 64 KB
# became the edge on the 64-bit unix port; a 32-bit board needs less.
MP_HEAP = "96K"

from fakectl import cfg, pair, start, refresh, url, who
from devicepair import providers as P
from devicepair import device_flow as df
from devicepair.errors import PairingRequired


def _proxy(**kw):
    up = url("proxy") + "/upstream"
    return cfg("proxy", "tv-client-1", token_endpoint=up + "/token", api_url=up + "/userinfo",
               **kw)


def test_proxy_pairing_qr_url_refresh_at_upstream_and_whoami():
    c = _proxy()
    p = P.resolve(c)
    assert p.token_endpoint == url("proxy") + "/device/token"
    assert p.refresh_endpoint == url("proxy") + "/upstream/token"
    f = pair(p, c, "proxy", after=2)
    assert f.state == df.DONE
    assert len(f.user_code) == 6 and f.user_code.isdigit()
    assert f.verification_uri == url("proxy") + "/device"
    assert f.verification_uri_complete == f.verification_uri + "?code=" + f.user_code
    assert who(p, f.tokens["access_token"]) == "aturing"  # no name: the login
    rt = f.tokens["refresh_token"]
    assert refresh(p, c, rt)["refresh_token"] == rt
    p = P.resolve(cfg("proxy", "tv-client-1"))
    # no upstream token_endpoint: the proxy forwards refresh_token (tools/deviceproxy)
    assert p.refresh_endpoint == p.token_endpoint == url("proxy") + "/device/token"
    assert p.whoami_url is None
    # a proxy like aaronpk's answers a refresh there with invalid_request: pair again
    try:
        refresh(p, c, rt)
        raise AssertionError("refresh at a proxy without the refresh grant succeeded")
    except PairingRequired as e:
        assert e.error == "invalid_grant"


def test_proxy_gone_codes_are_expired():
    c = _proxy()
    p = P.resolve(c)
    f = pair(p, c, "proxy", deny=True)  # the upstream sign-in failed: the code was deleted
    assert f.state == df.EXPIRED and f.error.error == "expired_token"
    f = start(p, c)
    f.device_code = "used-or-unknown"
    f.clock.advance(5000)
    f.step()
    assert f.state == df.EXPIRED and f.polls == 1
