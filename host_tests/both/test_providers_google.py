"""The Google preset against its local fake (both interpreters): verification_url, the client
secret, 428 pending / 403 slow_down and access_denied, the 403 ``error_code`` quota error,
case-sensitive user codes, refresh tokens that do not rotate, OpenID Connect userinfo."""

# Google's token response carries a ~1 KB id_token (1.5 KB in all); with the providers module,
# the fakes' control client and this module loaded, 64 KB is the edge: a few hundred bytes of
# library growth made the token response fail to parse there. The core alone: make bench.
MP_HEAP = "96K"

from fakectl import cfg, pair, start, run, refresh, ctl, who, transport, url
from devicepair import providers as P
from devicepair import device_flow as df
from devicepair.errors import ProviderError

CID = "123456789012-fake.apps.googleusercontent.com"
SECRET = "GOCSPX-fakefakefakefakefakefake"


def test_google_pairing_refresh_and_userinfo():
    c = cfg("google", CID, client_secret=SECRET)
    p = P.resolve(c)
    assert p.scope == "openid profile email"  # the config default has offline_access: refused
    f = pair(p, c, "google", after=2)
    assert f.state == df.DONE, (f.state, f.error)
    assert f.verification_uri == "https://www.google.com/device"
    assert f.verification_uri_complete is None
    assert who(p, f.tokens["access_token"]) == "Grace Hopper"
    rt = f.tokens["refresh_token"]
    f = None
    new = refresh(p, c, rt)
    assert new["refresh_token"] == rt  # Google sends none: the old one is kept
    assert who(p, new["access_token"]) == "Grace Hopper"


def test_google_user_code_case_is_kept():
    c = cfg("google", CID, client_secret=SECRET)
    f = start(P.resolve(c), c)
    assert ctl("google", "code", user_code=f.user_code)["status"] == "pending"
    r = transport().post_form(url("google") + "/_fake/code", {"user_code": f.user_code.lower()})
    assert r.status_code == 404  # case-sensitive: the device must show the code as sent


def test_google_denied_403_and_slow_down_403():
    c = cfg("google", CID, client_secret=SECRET)
    p = P.resolve(c)
    f = pair(p, c, "google", after=1, deny=True)
    assert f.state == df.DENIED and f.error.status == 403
    f = start(p, c)
    for server_ms in (5000, 4000):  # the second poll arrives 1 s early: slow_down (403)
        f.clock.advance(5000)
        ctl("google", "advance", ms=server_ms)
        f.step()
    assert f.state == df.POLLING and f.interval_ms == 10000 and f.polls == 2
    ctl("google", "approve", user_code=f.user_code)
    assert run(f, "google", after=None) == [10000] and f.state == df.DONE


def test_google_quota_error_code_is_a_clear_failure():
    c = cfg("google", CID, client_secret=SECRET)
    p = P.resolve(c)
    ctl("google", "set", device_quota=0)
    try:
        start(p, c)
        assert False, "quota error not raised"
    except ProviderError as e:
        assert e.error == "rate_limit_exceeded" and e.status == 403 and not e.transient
        assert "rate_limit_exceeded" in e.message
    finally:
        ctl("google", "set", device_quota=-1)


def test_google_wrong_secret_and_offline_access_scope_fail():
    c = cfg("google", CID, client_secret="wrong")
    f = pair(P.resolve(c), c, "google", after=None)
    assert f.state == df.FAILED and f.error.error == "invalid_client" and f.polls == 1
    c = cfg("google", CID, client_secret=SECRET, scope="openid offline_access")
    try:
        start(P.resolve(c), c)
        assert False
    except ProviderError as e:
        assert e.error == "invalid_scope" and "offline_access" in e.description
