"""The pairing app end to end against the scripted server (both interpreters).

Screens are recorded, the button replays events, the clock is fake, flash is a FakeFS: a whole
pairing, restart, refresh, cancel, expiry, denial and unpair each run in milliseconds.
"""

# The whole app (HTTP, TLS, device flow, token store, screen logic) plus this test module and
# its fakes (the recorder derives from devicepair.screen.Screen, so that module is loaded too):
# an ESP32 without PSRAM has about 110 KB of heap free, a Pico W about 190 KB.
MP_HEAP = "144K"

from fakeclock import FakeClock
from fakefs import FakeFS
from appfakes import RecordingScreen, ScriptedButton, FakeLink, FakeLED
from appfakes import run_app as _run
from scripting import script, transport, pending, device_response, token_response
from scripting import requests_seen, request_count
from devicepair import app as A
from devicepair.tokens import TokenStore
from devicepair.session import Session
from devicepair.screen import Tee
from flowkit import client


def _app(base, fs=None, clock=None, wifi=None, **kw):
    clock = clock or FakeClock(unix=1795435200)
    fs = fs or FakeFS()
    store = TokenStore("tokens.json", fs, clock)
    s = Session(store, transport(), client(base, whoami_url=base + "/me"), clock)
    kw.setdefault("pairing_file", "pairing.json")
    a = A.App(RecordingScreen(), clock, s, button=ScriptedButton(), wifi=wifi, led=FakeLED(),
              version="test", ntp_host="127.0.0.1", **kw)
    a.store = store  # the tests read what is on flash
    return a




ME = {"json": {"sub": "u1", "name": "Ada Lovelace"}}


def _pair(a):
    _run(a, lambda a: a.state == A.IDLE)
    a.button.press()
    _run(a, lambda a: a.state != A.IDLE and a.state != A.START)


def test_happy_path_pairs_and_shows_name():
    base = script({"/device": [device_response()], "/token": [pending(2), token_response()],
                   "/me": [ME]})
    a = _app(base)
    _run(a, lambda a: a.state == A.IDLE)
    assert a.screen.shown("booting") == [("booting", "test")]
    assert a.screen.last == ("idle",)
    a.button.press()
    _run(a, lambda a: a.state == A.POLLING)
    assert a.screen.last == ("pairing", "BCDF-GHJK", "https://auth.example/device",
                             "https://auth.example/device?user_code=BCDF-GHJK", 900)
    _run(a, lambda a: a.state == A.PAIRED)
    assert a.screen.last == ("paired", "Ada Lovelace")
    assert a.screen.shown("approved")
    assert a.screen.shown("countdown")[-1][1] == 886  # counted down to the last poll
    stored = a.store.load()
    assert stored["refresh_token"].startswith("rt-") and stored["name"] == "Ada Lovelace"
    assert requests_seen(base, last=1)[0]["headers"]["authorization"].startswith("Bearer at-")
    assert a.led.v == 1  # steady on when paired


def test_restart_with_stored_token_needs_no_pairing():
    base = script({"/device": [device_response()], "/token": [token_response()], "/me": [ME]})
    fs = FakeFS()
    a = _app(base, fs)
    _pair(a)
    _run(a, lambda a: a.state == A.PAIRED)
    n = request_count(base)
    b = _app(base, fs, FakeClock(unix=1795435200 + 60))
    _run(b, lambda b: b.state == A.PAIRED)
    assert b.screen.last == ("paired", "Ada Lovelace")
    assert request_count(base) == n  # no request at all: token valid, name stored


def test_expired_access_token_is_refreshed_then_revoked_refresh_unpairs():
    base = script({"/device": [device_response()],
                   "/token": [token_response(expires_in=300),
                              token_response(access_token="at-2", refresh_token=None,
                                             expires_in=300),
                              {"status": 400, "json": {"error": "invalid_grant"}}],
                   "/me": [ME]})
    a = _app(base)
    _pair(a)
    _run(a, lambda a: a.state == A.PAIRED)
    a.clock.advance(200 * 1000)  # inside the 120 s refresh margin
    _run(a, lambda a: a.store.load()["access_token"] == "at-2", 10000)
    assert a.state == A.PAIRED and a.store.load()["refresh_token"].startswith("rt-")
    a.clock.advance(300 * 1000)
    _run(a, lambda a: a.state == A.IDLE, 10000)
    assert a.screen.last == ("error", "Sign-in expired - press to pair")
    assert a.store.load() is None


def test_refresh_server_error_keeps_tokens_and_retries():
    base = script({"/device": [device_response()],
                   "/token": [token_response(expires_in=100), {"status": 503, "body": "down"},
                              token_response(access_token="at-3")], "/me": [ME]})
    a = _app(base)
    _pair(a)
    _run(a, lambda a: a.state == A.PAIRED)
    _run(a, lambda a: a.state == A.ERROR, 10000)
    assert a.screen.last == ("error", "server error 503")
    assert a.store.load()["access_token"].startswith("at-a")  # nothing lost
    _run(a, lambda a: a.state == A.PAIRED and a.session.tokens["access_token"] == "at-3", 60000)


def test_cancel_during_pairing():
    base = script({"/device": [device_response()], "/token": [pending(50)]})
    a = _app(base)
    _pair(a)
    _run(a, lambda a: a.flow.polls == 1)
    a.button.press()
    _run(a, lambda a: a.state == A.IDLE)
    a.clock.advance(60000)
    for _ in range(10):
        a.step()
    assert request_count(base) == 2  # device code + one poll, nothing after cancel
    assert a.screen.last == ("idle",)


def test_expired_then_retry_with_a_new_code():
    base = script({"/device": [device_response(expires_in=30),
                               device_response(device_code="d2", user_code="MNPQ-RSTV")],
                   "/token": [pending(10), token_response()], "/me": [ME]})
    a = _app(base)
    _pair(a)
    _run(a, lambda a: a.state == A.EXPIRED)
    assert a.screen.last == ("expired",)
    a.button.press()
    _run(a, lambda a: a.state == A.POLLING)
    assert a.screen.last[1] == "MNPQ-RSTV"


def test_denied_then_retry():
    base = script({"/device": [device_response(), device_response()],
                   "/token": [{"json": {"error": "access_denied"}}, token_response()],
                   "/me": [ME]})
    a = _app(base)
    _pair(a)
    _run(a, lambda a: a.state == A.DENIED)
    assert a.screen.last == ("denied",)
    a.button.press()
    _run(a, lambda a: a.state == A.PAIRED)


def test_unpair_needs_confirmation():
    base = script({"/device": [device_response()], "/token": [token_response()], "/me": [ME]})
    a = _app(base)
    _pair(a)
    _run(a, lambda a: a.state == A.PAIRED)
    a.button.press("long")
    _run(a, lambda a: a.state == A.CONFIRM)
    assert a.screen.last == ("unpair_confirm",)
    a.clock.advance(A.CONFIRM_MS + 1)  # no second press: stays paired
    _run(a, lambda a: a.state == A.PAIRED)
    assert a.store.load() is not None
    a.button.press("long")
    _run(a, lambda a: a.state == A.CONFIRM)
    a.button.press("short")
    _run(a, lambda a: a.state == A.IDLE)
    assert a.screen.last == ("unpaired",) and a.store.load() is None


def test_start_server_error_retries_automatically():
    base = script({"/device": [{"status": 503, "body": "busy"}, device_response()],
                   "/token": [token_response()], "/me": [ME]})
    a = _app(base)
    _pair(a)
    assert a.state == A.ERROR and a.screen.last[0] == "error"
    _run(a, lambda a: a.state == A.PAIRED, 60000)


def test_bad_client_waits_for_a_press():
    base = script({"/device": [{"status": 400, "json": {"error": "invalid_client",
                                                        "error_description": "no such app"}}]})
    a = _app(base)
    _pair(a)
    assert a.screen.last == ("error", "invalid_client: no such app")
    a.clock.advance(600000)
    a.step()
    assert a.state == A.ERROR and request_count(base) == 1


def test_wifi_drop_mid_pairing_pauses_polling():
    base = script({"/device": [device_response()], "/token": [pending(1), token_response()],
                   "/me": [ME]})
    link = FakeLink()
    a = _app(base, wifi=link)
    _pair(a)
    _run(a, lambda a: a.flow.polls == 1)
    link.connected = False
    a.clock.advance(30000)
    for _ in range(20):
        a.clock.advance(a.step() + 1000)
    assert a.flow.polls == 1 and a.screen.last == ("status", "Wi-Fi: reconnecting")
    link.connected = True
    _run(a, lambda a: a.state == A.PAIRED)
    assert a.screen.shown("pairing")  # the code came back on screen


def test_tee_sends_to_every_screen():
    s1, s2 = RecordingScreen(), RecordingScreen()
    t = Tee(s1, s2)
    t.paired("Ada")
    assert s1.calls == s2.calls == [("paired", "Ada")]


def test_token_without_lifetime_stays_paired_until_the_api_refuses_it():
    # GitHub OAuth apps: no expires_in, no refresh token
    base = script({"/device": [device_response()],
                   "/token": [token_response(expires_in=None, refresh_token=None)],
                   "/me": [ME, {"status": 401, "json": {"message": "Bad credentials"}}]})
    a = _app(base)
    _pair(a)
    _run(a, lambda a: a.state == A.PAIRED)
    assert a.store.load()["expires_at"] == -1
    a.clock.advance(30 * 86400 * 1000)
    for _ in range(20):
        a.step()
    assert a.state == A.PAIRED  # a month later: still paired, no refresh attempted
    a.button.press("double")  # asks the API again: 401 -> sign-in gone
    _run(a, lambda a: a.state == A.IDLE, 5000)
    assert a.screen.last == ("error", "Sign-in expired - press to pair")
