"""A reset while the code is on screen (both interpreters): the board comes back showing the
same code and goes on polling it until its deadline, so the user who already typed it is not
left with nothing. The power is cut at every flash step of a pairing; after each cut the
board boots again on the same flash and must end paired, or idle with nothing half-done -
never a second code for a pairing the first one could still finish, never a stale code."""

# The whole app plus a FakeFS holding every file, rebuilt for every cut point: the 64-bit
# unix port fragments at less.
MP_HEAP = "144K"

import gc

from fakeclock import FakeClock
from fakefs import FakeFS, PowerCut
from appfakes import RecordingScreen, ScriptedButton
from appfakes import run_app as _run
from scripting import script, transport, pending, device_response, token_response
from scripting import requests_seen
from flowkit import client
from devicepair import app as A
from devicepair.session import Session
from devicepair.tokens import TokenStore
from devicepair import inflight

T0 = 1795435200
ME = {"json": {"sub": "u1", "name": "Ada Lovelace"}}


def _app(base, fs, unix=T0):
    clock = FakeClock(unix=unix)
    s = Session(TokenStore("tokens.json", fs, clock), transport(),
                client(base, whoami_url=base + "/me"), clock)
    return A.App(RecordingScreen(), clock, s, button=ScriptedButton(),
                 pairing_file="pairing.json", ntp_host="127.0.0.1")


def _until_polling(a):
    _run(a, lambda a: a.state == A.IDLE)
    a.button.press()
    _run(a, lambda a: a.state == A.POLLING)


def test_reset_while_the_code_is_shown_resumes_the_same_code():
    base = script({"/device": [device_response(expires_in=600)],
                   "/token": [pending(3), token_response()], "/me": [ME]})
    fs = FakeFS()
    _until_polling(_app(base, fs))
    fs.reboot()  # brown-out 100 s into the pairing
    b = _app(base, fs, unix=T0 + 100)
    _run(b, lambda b: b.state not in (A.BOOT, A.WIFI, A.SYNC))
    assert b.state == A.POLLING, b.screen.last
    shown = b.screen.shown("pairing")[-1]
    assert shown[1] == "BCDF-GHJK" and shown[4] == 500  # the same code, its time left
    _run(b, lambda b: b.state == A.PAIRED)
    assert b.screen.last == ("paired", "Ada Lovelace")
    seen = requests_seen(base)
    assert [x["path"].rsplit("/", 1)[1] for x in seen].count("device") == 1
    assert inflight.load("pairing.json", fs) is None  # done: the code is forgotten


def test_a_code_past_its_deadline_is_dropped_silently():
    base = script({"/device": [device_response(expires_in=60)], "/token": [pending(1)]})
    fs = FakeFS()
    _until_polling(_app(base, fs))
    fs.reboot()
    b = _app(base, fs, unix=T0 + 61)
    _run(b, lambda b: b.state == A.IDLE)
    assert b.screen.last == ("idle",) and not b.screen.shown("error")
    assert inflight.load("pairing.json", fs) is None


def test_cancel_denied_and_expiry_forget_the_code():
    base = script({"/device": [device_response(), device_response(expires_in=30)],
                   "/token": [{"status": 400, "json": {"error": "access_denied"}},
                              pending(20)]})
    fs = FakeFS()
    a = _app(base, fs)
    _until_polling(a)
    assert inflight.load("pairing.json", fs)["device_code"] == "dev-code-1"
    _run(a, lambda a: a.state == A.DENIED)
    assert inflight.load("pairing.json", fs) is None
    a.button.press()
    _run(a, lambda a: a.state == A.POLLING)
    a.button.press()  # cancel
    _run(a, lambda a: a.state == A.IDLE)
    assert inflight.load("pairing.json", fs) is None


def test_garbage_in_the_pairing_file_is_ignored():
    base = script({"/device": [device_response()], "/token": [token_response()], "/me": [ME]})
    for junk in (b"{", b"[1,2]", b'{"device_code": 5}', b'{"expires_at": 1e999}', b"\xff" * 40,
                 b'{"device_code":"d","user_code":"U","verification_uri":"http://evil.example",'
                 b'"interval":5,"expires_at":%d}' % (T0 + 100)):
        fs = FakeFS({"pairing.json": junk})
        b = _app(base, fs)
        _run(b, lambda b: b.state == A.IDLE)
        assert b.screen.last == ("idle",), (junk, b.screen.last)


def test_power_cut_at_every_step_of_a_pairing():
    """Cut at step k of the pairing's flash writes (pairing.json, tokens.json, their temp
    files, renames, removals); boot again on what survived; the board must end paired with a
    single device code, or idle with nothing left behind."""
    k = 0
    outcomes = {}
    while k < 60:
        gc.collect()
        base = script({"/device": [device_response(), device_response(user_code="CDFG-HJKL",
                                                                      device_code="dev-2")],
                       "/token": [pending(1), token_response(), token_response(), pending(1),
                                  token_response()],
                       "/me": [ME, ME, ME]})
        fs = FakeFS()
        a = _app(base, fs)
        _run(a, lambda a: a.state == A.IDLE)
        fs.arm(step=k)
        a.button.press()
        try:
            _run(a, lambda a: a.state == A.PAIRED)
            break  # no cut reached: every step has been tried
        except PowerCut:
            pass
        fs.reboot()
        b = _app(base, fs, unix=T0 + 20)
        _run(b, lambda b: b.state in (A.PAIRED, A.IDLE))
        if b.state == A.IDLE:  # the code was not on flash yet: press again, pair normally
            assert b.screen.last == ("idle",), (k, b.screen.last)
            b.button.press()
            _run(b, lambda b: b.state == A.PAIRED)
        assert b.screen.last == ("paired", "Ada Lovelace"), (k, b.screen.last)
        assert b.session.store.load()["access_token"].startswith("at-"), k
        assert inflight.load("pairing.json", fs) is None, k
        outcomes[k] = b.state
        k += 1
    assert k >= 6, "the pairing made only %d flash steps" % k
    print("power cut at %d steps" % k)
    assert len(outcomes) == k
