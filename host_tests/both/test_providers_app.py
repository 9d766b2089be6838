"""Every preset through the real app (both interpreters): config.json settings -> Config ->
providers.resolve -> App; press, approve at the provider's fake, and the screen must say
"Paired as <name>" from that provider's own who-am-I API; then time passes until the access
token is due and the app refreshes it at the preset's refresh endpoint, still paired. Preset
mistakes in config.json are one clear ConfigError naming the field."""

# The app (HTTP, device flow, tokens, providers, config) plus this module: as test_app.
MP_HEAP = "176K"

import gc

from fakectl import ctl, transport, url
from fakeclock import FakeClock
from fakefs import FakeFS
from appfakes import RecordingScreen, ScriptedButton, run_app
from devicepair import app as A
from devicepair import providers as P
from devicepair.config import Config
from devicepair.errors import ConfigError
from devicepair.tokens import TokenStore, NO_EXPIRY
from devicepair.session import Session

W = [{"ssid": "home", "password": "secret123"}]


def _cfg(d):
    d["wifi"] = W
    d["allow_insecure_http"] = True  # the fakes are http on 127.0.0.1
    return Config.from_dict(d)




def _run(a, until, max_ms=1200000):
    run_app(a, until, max_ms)


def _pair_and_refresh(fake, d, name, refreshes=True):
    gc.collect()
    c = _cfg(d)
    clock = FakeClock(unix=1795435200)
    store = TokenStore("tokens.json", FakeFS(), clock)
    a = A.App(RecordingScreen(), clock, Session(store, transport(), P.resolve(c), clock),
              button=ScriptedButton())
    a.store = store
    _run(a, lambda a: a.state == A.IDLE)
    a.button.press()
    _run(a, lambda a: a.state != A.IDLE and a.state != A.START)
    assert a.state == A.POLLING, a.screen.last
    ctl(fake, "approve", user_code=a.flow.user_code)
    _run(a, lambda a: a.state != A.POLLING)
    assert a.screen.last == ("paired", name), a.screen.last
    t = a.store.load()
    assert t["name"] == name and t["access_token"]
    if refreshes is None:
        return a
    if not refreshes:  # no refresh token and no expiry: paired until the API says 401
        assert not t.get("refresh_token") and t["expires_at"] == NO_EXPIRY
        n = len(ctl(fake, "log", n=50))
        clock.advance(86400000)
        for _ in range(40):
            a.clock.advance(max(1, a.step()))
        assert a.state == A.PAIRED and len(ctl(fake, "log", n=50)) == n  # no request made
        return a
    at = t["access_token"]
    _run(a, lambda a: a.session.tokens["access_token"] != at,
         max_ms=(t["expires_at"] - clock.unix_time() + 60) * 1000)
    assert a.state == A.PAIRED and a.screen.last == ("paired", name)
    assert a.store.load()["access_token"] != at and a.store.load()["name"] == name
    return a


def test_auth0():
    _pair_and_refresh("auth0", {"provider": "auth0", "base_url": url("auth0"),
                                "client_id": "auth0-client", "audience": "https://api.example"},
                      "Ada Lovelace")
    assert ctl("auth0", "log", n=1)[0]["path"] == "/oauth/token"  # the refresh


def test_auth0_audience_reaches_the_device_authorization_request():
    # config.json's "audience" is a preset parameter; the app used to send only
    # cfg.extra_params, so the board asked for a token without it (no API access)
    _pair_and_refresh("auth0", {"provider": "auth0", "base_url": url("auth0"),
                                "client_id": "auth0-client", "audience": "https://api.example",
                                "extra_params": {"organization": "org_1"}}, "Ada Lovelace",
                      refreshes=None)
    dev = [r for r in ctl("auth0", "log", n=20) if r["path"] == "/oauth/device/code"][-1]
    assert dev["form"]["audience"] == "https://api.example"
    assert dev["form"]["organization"] == "org_1" and dev["form"]["client_id"] == "auth0-client"


def test_entra():
    _pair_and_refresh("entra", {"provider": "entra", "base_url": url("entra"),
                                "tenant": "contoso.onmicrosoft.com",
                                "client_id": "00000000-0000-0000-0000-00000000c1d0"},
                      "Adele Vance")


def test_google():
    _pair_and_refresh("google", {"provider": "google", "base_url": url("google"),
                                 "client_id": "123456789012-fake.apps.googleusercontent.com",
                                 "client_secret": "GOCSPX-fakefakefakefakefakefake"},
                      "Grace Hopper")


def test_github_oauth_app():
    _pair_and_refresh("github", {"provider": "github", "base_url": url("github"),
                                 "client_id": "Ov23liFakeOAuthApp01"}, "The Octocat",
                      refreshes=False)


def test_okta():
    _pair_and_refresh("okta", {"provider": "okta", "base_url": url("okta"),
                               "client_id": "0oafakeclient"}, "Katherine Johnson")


def test_keycloak():
    _pair_and_refresh("keycloak", {"provider": "keycloak", "base_url": url("keycloak"),
                                   "realm": "devices", "client_id": "devicepair-board"},
                      "Margaret Hamilton")


def test_proxy_refreshes_at_the_upstream_token_endpoint():
    up = url("proxy") + "/upstream"
    _pair_and_refresh("proxy", {"provider": "proxy", "base_url": url("proxy"),
                                "client_id": "tv-client-1", "token_endpoint": up + "/token",
                                "api_url": up + "/userinfo"}, "aturing")
    assert ctl("proxy", "log", n=1)[0]["path"] == "/upstream/token"


def test_generic_issuer_is_discovered_by_the_app_after_wifi():
    a = _pair_and_refresh("keycloak", {"issuer": url("keycloak") + "/realms/iot",
                                       "client_id": "devicepair-board"}, "Margaret Hamilton")
    assert ("status", "Reading provider settings...") in a.screen.calls


def test_generic_issuer_that_fails_shows_why_and_retries():
    c = _cfg({"issuer": url("keycloak") + "/realms/gone", "client_id": "devicepair-board"})
    clock = FakeClock(unix=1795435200)
    store = TokenStore("tokens.json", FakeFS(), clock)
    a = A.App(RecordingScreen(), clock, Session(store, transport(), P.resolve(c), clock),
              button=ScriptedButton())
    a.store = store
    _run(a, lambda a: a.state == A.ERROR)
    assert a.screen.last == ("error", "discovery failed (HTTP 404)")
    a.button.press()  # a press tries again (the realm may have been created meanwhile)
    a.step()
    assert a.state == A.SYNC


def _config_error(d):
    try:
        P.resolve(_cfg(d))
    except ConfigError as e:
        return str(e)
    raise AssertionError("accepted: %r" % d)


def test_preset_mistakes_name_the_field():
    assert _config_error({"provider": "entra", "client_id": "x"}) == \
        'config: tenant is missing (needed by provider "entra")'
    assert _config_error({"provider": "azure", "client_id": "x"}) == \
        'config: provider "azure" is unknown (known: auth0, entra, google, github, okta, ' \
        'keycloak, proxy, generic)'
    assert _config_error({"provider": "auth0", "client_id": "x"}) == \
        'config: domain is missing (needed by provider "auth0")'
    assert _config_error({"provider": "google", "client_id": "x"}) == \
        'config: client_secret is missing (needed by provider "google")'
    assert _config_error({"provider": "keycloak", "client_id": "x", "realm": "r"}) == \
        'config: base_url is missing (needed by provider "keycloak")'
    assert _config_error({"provider": "auth0", "client_id": "x",
                          "domain": "me.auth0.com/evil"}) == "config: domain must not contain '/'"
    try:
        _cfg({"client_id": "x"})
        raise AssertionError("generic without endpoints accepted")
    except ConfigError as e:
        assert e.field == "device_authorization_endpoint"
