"""Hostile answers the device flow, the session and the app must turn into typed, readable
errors (both interpreters): absurd numbers, non-text descriptions, tokens that would inject
headers, token types that are not Bearer, verification URIs that point elsewhere than the
text shows, control characters in codes and names; and an app that meets an exception
nothing foresaw keeps its button (unpair included) instead of crash-looping."""

# The whole app, the presets and discovery (loaded and dropped again), this module and its
# fakes: more than test_app.
MP_HEAP = "144K"

import json

from fakeclock import FakeClock
from fakefs import FakeFS
from appfakes import RecordingScreen, ScriptedButton
from appfakes import run_app as _run
from scripting import script, transport, pending, device_response, token_response
from scripting import requests_seen
from flowkit import client, flow as _flow, run as _frun
from devicepair import app as A
from devicepair import device_flow as df
from devicepair.errors import DevicePairError, ResponseError, ProviderError
from devicepair.session import Session, display_name
from devicepair.tokens import TokenStore

ME = {"json": {"sub": "u1", "name": "Ada Lovelace"}}


def _start(resp, **kw):
    base = script({"/device": [resp]})
    f = _flow(base, **kw)
    try:
        f.start()
    except DevicePairError as e:
        return e
    return f


def _poll(*answers):
    base = script({"/device": [device_response(interval=1, expires_in=30)],
                   "/token": list(answers)})
    f = _flow(base)
    f.start()
    _frun(f)
    return f


def test_absurd_numbers_are_typed_errors():
    for bad in ("1e999", "-1e999", "1e300", "-0.5", '"99999999999999999999999"', '"1e5"'):
        for field in ("interval", "expires_in"):
            d = device_response()["json"]
            d[field] = 0
            body = json.dumps(d).replace('"%s": 0' % field, '"%s": %s' % (field, bad))
            e = _start({"body": body, "content_type": "application/json"})
            assert isinstance(e, ResponseError) and len(e.message) < 80, (field, bad, e)
            assert field in e.message, e.message
    f = _poll(token_response(expires_in=1e300))
    assert f.state == df.FAILED and "expires_in" in f.error.message


def test_descriptions_that_are_not_text_still_make_a_message():
    for desc in (12, ["a"], {"x": 1}, None, "line1\r\n\x1b[31mred\x07"):
        e = _start({"status": 400, "json": {"error": "invalid_scope", "error_description": desc}})
        assert isinstance(e, ProviderError) and e.error == "invalid_scope"
        for ch in e.message:
            assert 0x20 <= ord(ch) < 0x7F, repr(e.message)
    e = _start({"status": 400, "json": {"error": "x\r\nSet-Cookie: a=b" + "y" * 200}})
    assert isinstance(e, ProviderError) and "\r" not in e.error and len(e.error) <= 64


def test_tokens_that_would_inject_headers_are_refused():
    for at in ("at-1\r\nX-Evil: 1", "at 1", "at-1\x00", "\u00e9t\u00e9", "=", ""):
        f = _poll(token_response(access_token=at))
        assert f.state == df.FAILED, repr(at)
        assert isinstance(f.error, ResponseError) and at not in f.error.message or not at
    f = _poll(token_response(refresh_token="rt\r\nX: y"))
    assert f.state == df.FAILED and f.error.message == "server sent a bad refresh_token"
    f = _poll(token_response(access_token="abc-._~+/DEF=="))
    assert f.state == df.DONE  # every b64token character is fine


def test_token_type_must_be_bearer():
    for tt in ("MAC", "DPoP", "Bearer\r\n", "basic"):
        f = _poll(token_response(token_type=tt))
        assert f.state == df.FAILED and "not Bearer" in f.error.message, tt
    f = _poll(token_response(token_type="BEARER"))
    assert f.state == df.DONE and f.tokens["token_type"] == "Bearer"


def test_verification_uris_are_shown_and_encoded_only_when_safe():
    f = _start(device_response(verification_uri_complete="https://evil.example/device?c=1"))
    assert f.verification_uri == "https://auth.example/device"
    assert f.verification_uri_complete is None  # the QR falls back to the real host
    f = _start(device_response(verification_uri_complete="https://auth.example:8443/d"))
    assert f.verification_uri_complete is None  # another port is another server
    for bad in ("https://auth.example@evil.example/", "http://auth.example/device",
                "https://auth.example/de vice", "javascript:alert(1)", "https://", 5):
        e = _start(device_response(verification_uri=bad, verification_uri_complete=None))
        assert isinstance(e, ResponseError) and "verification_uri" in e.message, bad
    f = _start(device_response(verification_uri="http://127.0.0.1:8000/device",
                               verification_uri_complete="http://127.0.0.1:8000/device?c=1"))
    assert f.verification_uri_complete == "http://127.0.0.1:8000/device?c=1"  # dev loopback
    f = _start(device_response(verification_uri="http://localhost:3000/device",
                               verification_uri_complete=None), allow_insecure_http=False)
    assert f.verification_uri == "http://localhost:3000/device"  # shown only: same machine


def test_user_codes_with_control_characters_are_refused():
    for code in ("ABCD\x1b[2J", "AB\nCD", "\x00", "A" * 65):
        e = _start(device_response(user_code=code))
        assert isinstance(e, ResponseError) and e.message == "server sent a bad user_code"


def test_a_truncated_4xx_while_polling_is_retried_not_fatal():
    f = _poll({"status": 400, "body": '{"error": "authorization_pen', "repeat": 2},
              token_response())
    assert f.state == df.DONE and f.polls == 3


def test_names_are_cleaned_of_control_characters():
    assert display_name({"name": "Ada\x1b]0;pwned\x07\n[devicepair] Paired as admin"}) == \
        "Ada?]0;pwned??[devicepair] Paired as admin"
    assert display_name({"name": 5, "login": "  octo "}) == "octo"


class Exploding:
    """A transport that raises what no check foresaw on the Nth request onwards."""

    def __init__(self, inner, after, exc):
        self.inner, self.after, self.exc, self.n = inner, after, exc, 0

    def request(self, *a, **kw):
        self.n += 1
        if self.n > self.after:
            raise self.exc
        return self.inner.request(*a, **kw)

    def get(self, url, bearer=None, headers=None):
        return self.request("GET", url, headers=headers, bearer=bearer)

    def post_form(self, url, fields, headers=None):
        return self.request("POST", url, fields=fields, headers=headers)


def test_an_unforeseen_exception_is_a_screen_and_the_button_still_unpairs():
    base = script({"/device": [device_response()], "/token": [token_response()],
                   "/me": [ME, ME, ME]})
    clock = FakeClock(unix=1795435200)
    t = Exploding(transport(), 2, TypeError("unforeseen"))
    s = Session(TokenStore("tokens.json", FakeFS(), clock), t,
                client(base, whoami_url=base + "/me"), clock)
    a = A.App(RecordingScreen(), clock, s, button=ScriptedButton(), ntp_host="127.0.0.1")
    _run(a, lambda a: a.state == A.IDLE)
    a.button.press()
    _run(a, lambda a: a.state == A.ERROR)  # the who-am-I after the tokens raised TypeError
    assert a.screen.last == ("error", "internal error (TypeError)")
    assert s.store.load()["access_token"].startswith("at-")  # the tokens were kept
    a.button.press("long")  # unpair is in reach from the error screen
    _run(a, lambda a: a.state == A.CONFIRM)
    a.button.press()
    _run(a, lambda a: a.state == A.IDLE)
    assert a.screen.last == ("unpaired",) and s.store.load() is None
    assert len(requests_seen(base)) == 2


def test_an_exception_every_minute_backs_off_instead_of_crash_looping():
    base = script({"/device": [device_response()], "/token": [pending(1)]})
    clock = FakeClock(unix=1795435200)
    t = Exploding(transport(), 0, ValueError("no"))
    s = Session(TokenStore("tokens.json", FakeFS(), clock), t, client(base), clock)
    s.store.save(token_response(expires_in=60)["json"])  # a stored token, soon expired
    clock.advance(3600 * 1000)
    a = A.App(RecordingScreen(), clock, s, button=ScriptedButton(), ntp_host="127.0.0.1")
    _run(a, lambda a: a.state == A.IDLE or t.n >= 6, 4000000)
    assert t.n == 6 and a.state in (A.ERROR, A.CHECK), a.state
    assert s.store.load() is not None  # the tokens survive every failed attempt
    # the pauses grow: 6 attempts took minutes of (fake) time, not milliseconds
    assert clock.ticks_ms() > 100000


def test_discovery_keeps_the_configured_endpoints():
    # issuer + an explicit device endpoint: the document lacks that endpoint, and must not
    # have to name it; what it names and the config left open is filled in
    from devicepair import providers as P

    class cfg:
        provider = "generic"
        client_id = "c1"
        allow_insecure_http = True
        scope = token_endpoint = userinfo_endpoint = api_url = None

    probe = script({})
    base = probe[:probe.rindex("/s") + 2] + str(int(probe[probe.rindex("/s") + 2:]) + 1)
    assert script({"/.well-known/openid-configuration": [{"json": {
        "issuer": base, "token_endpoint": base + "/discovered-token",
        "userinfo_endpoint": base + "/discovered-userinfo"}}]}) == base
    cfg.provider_params = {"issuer": base}
    cfg.device_authorization_endpoint = base + "/my-device"
    c = P.resolve(cfg)
    assert c.issuer == base and c.token_endpoint is None
    d = P.discover(c, transport())
    assert d.device_authorization_endpoint == base + "/my-device"  # configured: kept
    assert d.token_endpoint == base + "/discovered-token" == d.refresh_endpoint
    assert d.whoami_url == base + "/discovered-userinfo" and d.issuer is None
    assert c.token_endpoint is None  # the client it came from is unchanged


def test_out_of_memory_while_drawing_the_code_keeps_the_pairing():
    base = script({"/device": [device_response()], "/token": [pending(2), token_response()],
                   "/me": [ME]})
    clock = FakeClock(unix=1795435200)
    s = Session(TokenStore("tokens.json", FakeFS(), clock), transport(),
                client(base, whoami_url=base + "/me"), clock)
    screen = RecordingScreen()
    fails = [2]

    def pairing(*args):  # the first two attempts to draw the code find no heap
        if fails[0]:
            fails[0] -= 1
            raise MemoryError("memory allocation failed")
        screen.calls.append(("pairing",) + args)

    screen.pairing = pairing
    a = A.App(screen, clock, s, button=ScriptedButton(), ntp_host="127.0.0.1")
    _run(a, lambda a: a.state == A.IDLE)
    a.button.press()
    _run(a, lambda a: a.state == A.PAIRED)
    assert [c[1] for c in screen.calls if c[0] == "pairing"] == ["BCDF-GHJK"]
    assert screen.last == ("paired", "Ada Lovelace")
    assert [x["path"].rsplit("/", 1)[1] for x in requests_seen(base)].count("device") == 1
