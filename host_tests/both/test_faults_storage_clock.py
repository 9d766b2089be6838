"""Storage and clock faults, each named, through the public API (both interpreters).

Flash that is full, refuses a rename or a sync, files that are garbage, truncated, of the
wrong shape or huge, power cut in the middle of a rotation; the ticks counter wrapping while a
code is on screen, a wall clock that was never set, that jumps a year either way, or an RTC
that forgot the time between boots. Each test names its fault and asserts what the user
sees: the screen, the state, what is on flash, that the button still works, and that a
refresh token the server has rotated away is never presented again.
"""

# The whole app plus a FakeFS holding every file, as test_app (120K), plus this module's own
# bytecode (20 faults, about 10 KB of .mpy, twice test_app's).
MP_HEAP = "160K"

import gc
import json

from fakeclock import FakeClock
from fakefs import FakeFS, PowerCut
from appfakes import RecordingScreen, ScriptedButton
from appfakes import run_app as _run
from scripting import script, transport, pending, device_response, token_response
from scripting import requests_seen, request_count
from flowkit import client
from devicepair import app as A
from devicepair.errors import NetworkError
from devicepair.form import parse_form
from devicepair.session import Session
from devicepair.tokens import TokenStore, MAX_FILE

T0 = 1795435200
YEAR = 365 * 86400
ME = {"json": {"sub": "u1", "name": "Ada Lovelace"}}


class FaultFS(FakeFS):
    """A FakeFS whose flash misbehaves on demand: ``full`` (every write refused with ENOSPC;
    ``writes_ok = N``: N more writes succeed first), ``read_error`` (EIO opening a file to
    read), ``rename_error`` (EIO on rename), ``sync_error`` (EIO on the next N syncs),
    ``remove_error`` (EIO on remove). Counts ``syncs``."""

    full = False
    writes_ok = None
    read_error = False
    rename_error = False
    sync_error = 0
    remove_error = False
    syncs = 0

    def open(self, path, mode="rb"):
        if mode == "rb" and self.read_error and path in self.files:
            raise OSError(5)
        f = FakeFS.open(self, path, mode)
        if mode == "wb":
            write = f.write
            fs = self

            def guarded(b):
                if fs.writes_ok is not None:
                    if fs.writes_ok <= 0:
                        raise OSError(28)
                    fs.writes_ok -= 1
                if fs.full:
                    raise OSError(28)
                return write(b)

            f.write = guarded
        return f

    def rename(self, a, b):
        if self.rename_error:
            self._step("rename " + a)
            raise OSError(5)
        FakeFS.rename(self, a, b)

    def remove(self, path):
        if self.remove_error and path in self.files:
            raise OSError(5)
        FakeFS.remove(self, path)

    def sync(self):
        self.syncs += 1
        if self.sync_error:
            self.sync_error -= 1
            raise OSError(5)


class HugeFS(FaultFS):
    """Every file is 1 MB large, and reading one is a test failure."""

    def stat(self, path):
        st = FaultFS.stat(self, path)
        return st[:6] + (1 << 20,) + st[7:]

    def open(self, path, mode="rb"):
        assert mode != "rb", "read a 1 MB file"
        return FaultFS.open(self, path, mode)


def _app(base, fs, clock=None, unix=T0, timesync=None, logs=None):
    clock = clock or FakeClock(unix=unix)
    log = logs.append if logs is not None else None
    s = Session(TokenStore("tokens.json", fs, clock), transport(),
                client(base, whoami_url=base + "/me"), clock, log=log)
    return A.App(RecordingScreen(), clock, s, button=ScriptedButton(), timesync=timesync,
                 ntp_host="127.0.0.1", pairing_file="pairing.json", log=log)


def _code_on_flash(fs):
    return [f for f in fs.listdir() if f.startswith("pairing.json")]


def _stored(fs):
    d = fs.read_file("tokens.json")
    return None if d is None else json.loads(d)


def _sent_refresh_tokens(base):
    out = []
    for x in requests_seen(base):
        if x["path"].endswith("/token"):
            f = parse_form(x["body"])
            if f.get("grant_type") == "refresh_token":
                out.append(f["refresh_token"])
    return out


def _pair(a):
    _run(a, lambda a: a.state == A.IDLE)
    a.button.press()
    _run(a, lambda a: a.state == A.PAIRED)


def _paired_fs(**tok):
    """A flash holding a stored token set, as a paired board leaves it."""
    fs = FaultFS()
    TokenStore("tokens.json", fs, FakeClock(unix=T0)).save(token_response(**tok)["json"])
    return fs


def _statuses(a):
    return [c[1] for c in a.screen.calls if c[0] == "status"]


def _no_token_in(lines):
    for line in lines:
        assert "at-" not in line and "rt-" not in line, line


# -- flash full --------------------------------------------------------------------------------

def test_fault_flash_full_on_the_first_save():
    base = script({"/device": [device_response()], "/token": [pending(1), token_response()],
                   "/me": [ME]})
    fs = FaultFS()
    logs = []
    a = _app(base, fs, logs=logs)
    _run(a, lambda a: a.state == A.IDLE)
    fs.full = True
    a.button.press()
    _run(a, lambda a: a.state == A.PAIRED)
    # paired, and the flash problem stays on screen (not drawn over by "Paired as")
    assert a.screen.calls[-2:] == [("paired", "Ada Lovelace"), ("status", "flash full: retrying")]
    assert _stored(fs) is None and fs.listdir() == []  # nothing half-written left behind
    assert a.session.save_pending
    fs.full = False
    _run(a, lambda a: not a.session.save_pending, max_ms=40000)  # retried within 30 s
    assert a.screen.last == ("paired", "Ada Lovelace")
    assert _stored(fs)["refresh_token"] == "rt-" + "r" * 40
    assert _stored(fs)["name"] == "Ada Lovelace"
    assert a.screen.last == ("paired", "Ada Lovelace")
    n = request_count(base)
    b = _app(base, fs.reboot())
    _run(b, lambda b: b.state == A.PAIRED)
    assert request_count(base) == n  # the saved set is used as it is
    _no_token_in(logs)


def test_fault_flash_full_during_a_rotation():
    base = script({"/device": [device_response()],
                   "/token": [token_response(access_token="at-1", refresh_token="rt-1",
                                             expires_in=200),
                              token_response(access_token="at-2", refresh_token="rt-2",
                                             expires_in=200),
                              token_response(access_token="at-3", refresh_token="rt-3",
                                             expires_in=3600)],
                   "/me": [ME]})
    fs = FaultFS()
    logs = []
    a = _app(base, fs, logs=logs)
    _pair(a)
    fs.full = True
    _run(a, lambda a: a.session.tokens["refresh_token"] == "rt-2", max_ms=200000)
    assert _stored(fs)["refresh_token"] == "rt-1"  # flash: the old set, complete
    assert "flash full: retrying" in _statuses(a) and a.state == A.PAIRED
    # due again while flash is still full: rt-2 is used (from RAM), never the rotated rt-1
    _run(a, lambda a: a.session.tokens["refresh_token"] == "rt-3", max_ms=200000)
    assert a.state == A.PAIRED and a.session.save_pending
    fs.full = False
    _run(a, lambda a: not a.session.save_pending, max_ms=40000)
    assert _stored(fs)["refresh_token"] == "rt-3" and _stored(fs)["access_token"] == "at-3"
    assert _sent_refresh_tokens(base) == ["rt-1", "rt-2"]
    a.button.press("long")  # the button still unpairs
    _run(a, lambda a: a.state == A.CONFIRM)
    _no_token_in(logs)


def test_fault_flash_full_on_the_name_save():
    base = script({"/device": [device_response()], "/token": [pending(1), token_response()],
                   "/me": [ME]})
    fs = FaultFS()
    a = _app(base, fs)
    _run(a, lambda a: a.state == A.IDLE)
    a.button.press()
    _run(a, lambda a: a.state == A.POLLING)
    fs.writes_ok = 1  # the tokens fit; the same set again with the name does not
    _run(a, lambda a: a.state == A.PAIRED)
    assert _stored(fs)["access_token"] == "at-" + "a" * 40 and _stored(fs)["name"] is None
    assert a.session.name == "Ada Lovelace" and a.session.save_pending
    _run(a, lambda a: "flash full: retrying" in _statuses(a), max_ms=1000)
    fs.writes_ok = None
    _run(a, lambda a: not a.session.save_pending, max_ms=40000)
    assert _stored(fs)["name"] == "Ada Lovelace" and a.screen.last == ("paired", "Ada Lovelace")


def test_fault_flash_full_on_the_pairing_file():
    base = script({"/device": [device_response()], "/token": [pending(2), token_response()],
                   "/me": [ME]})
    fs = FaultFS()
    logs = []
    a = _app(base, fs, logs=logs)
    _run(a, lambda a: a.state == A.IDLE)
    fs.writes_ok = 0
    a.button.press()
    _run(a, lambda a: a.state == A.POLLING)
    assert fs.listdir() == []  # the code is not on flash: a reset would not resume it
    assert "pairing: in-flight file save failed (OSError)" in logs, logs
    fs.writes_ok = None
    _run(a, lambda a: a.state == A.PAIRED)  # the pairing itself goes on
    assert _stored(fs)["name"] == "Ada Lovelace"


# -- reading the token file ----------------------------------------------------------------------

def test_fault_read_error_at_boot_keeps_the_file():
    base = script({"/me": [ME]})
    fs = _paired_fs()
    before = fs.read_file("tokens.json")
    fs.read_error = True
    logs = []
    a = _app(base, fs, logs=logs)
    _run(a, lambda a: a.state == A.IDLE)
    assert a.screen.last == ("idle",)
    assert [x for x in logs if "stored token unreadable (cannot read (5))" in x], logs
    assert fs.read_file("tokens.json") == before  # an I/O error never deletes the tokens
    fs.read_error = False
    b = _app(base, fs.reboot())
    _run(b, lambda b: b.state == A.PAIRED)
    assert b.screen.last == ("paired", "Ada Lovelace")


def test_fault_corrupted_token_file_means_pairing_again():
    base = script({"/device": [device_response()], "/token": [token_response()], "/me": [ME]})
    for junk in (b"\xff\xfe\x00garbage", b"\x00" * 64, b"{{{{", b"tokens", b"\x1b[2J{}"):
        fs = FaultFS({"tokens.json": junk})
        logs = []
        a = _app(base, fs, logs=logs)
        _run(a, lambda a: a.state == A.IDLE)
        assert a.screen.last == ("idle",), (junk, a.screen.last)
        assert [x for x in logs if "stored token unreadable" in x], (junk, logs)
    a.button.press()  # the last one: pairing replaces the garbage
    _run(a, lambda a: a.state == A.PAIRED)
    assert _stored(fs)["access_token"] == "at-" + "a" * 40


def test_fault_truncated_token_file_at_every_length():
    whole = _paired_fs().read_file("tokens.json")
    st_clock = FakeClock(unix=T0)
    for n in range(0, len(whole)):
        fs = FaultFS({"tokens.json": whole[:n]})
        st = TokenStore("tokens.json", fs, st_clock)
        assert st.load() is None, n
        assert st.last_error.startswith("stored token unreadable"), (n, st.last_error)
    fs = FaultFS({"tokens.json": whole[:len(whole) // 2]})
    a = _app(script({}), fs)
    _run(a, lambda a: a.state == A.IDLE)
    assert a.screen.last == ("idle",)
    a.button.press("long")  # nothing to unpair: the button does no harm
    _run(a, lambda a: a.state == A.IDLE, max_ms=1000)


def test_fault_token_file_of_the_wrong_shape():
    shapes = [b"[1, 2]", b"null", b"\"at-x\"", b"3.5", b"{}", b'{"access_token": 5}',
              b'{"access_token": ""}', b'{"access_token": ["x"]}',
              b'{"access_token": "x", "refresh_token": {"a": 1}}',
              b'{"access_token": "x", "expires_at": "soon"}',
              b'{"access_token": "x", "expires_at": 1e999}',
              b'{"access_token": "x", "name": 7}', b'{"access_token": {"nested": [[[]]]}}']
    base = script({})
    for junk in shapes:
        fs = FaultFS({"tokens.json": junk})
        logs = []
        a = _app(base, fs, logs=logs)
        _run(a, lambda a: a.state == A.IDLE)
        assert a.screen.last == ("idle",), (junk, a.screen.last)
        assert not a.screen.shown("error"), junk
        assert not a.session.paired
    assert request_count(base) == 0  # nothing from such a file was ever sent


def test_fault_huge_token_file():
    fs = FaultFS()
    gc.collect()
    fs.files["tokens.json"] = bytearray(b'{"access_token": "x", "pad": "')
    fs.files["tokens.json"].extend(b"p" * MAX_FILE)
    logs = []
    a = _app(script({}), fs, logs=logs)
    _run(a, lambda a: a.state == A.IDLE)
    assert [x for x in logs if "too large" in x], logs
    assert a.screen.last == ("idle",)
    # a file of 1 MB is refused from its size, before anything is read
    fs = HugeFS({"tokens.json": b"{}"})
    st = TokenStore("tokens.json", fs, FakeClock(unix=T0))
    assert st.load() is None and "too large (1048576 bytes)" in st.last_error


# -- rename, sync, power cut ---------------------------------------------------------------------

def test_fault_rename_refused():
    base = script({"/device": [device_response()], "/token": [token_response()],
                   "/me": [ME]})
    fs = FaultFS()
    fs.rename_error = True
    a = _app(base, fs)
    _pair(a)
    assert a.screen.calls[-2:] == [("paired", "Ada Lovelace"),
                                   ("status", "flash write failed (5): retrying")]
    assert a.session.save_pending
    # the complete temp file is on flash: a reboot (rename still refused) reads it
    assert "tokens.json.tmp" in fs.listdir()
    n = request_count(base)
    b = _app(base, fs.reboot())
    _run(b, lambda b: b.state == A.PAIRED)
    assert b.screen.last == ("paired", "Ada Lovelace") and request_count(base) == n
    fs.rename_error = False
    c = _app(base, fs.reboot())
    _run(c, lambda c: c.state == A.PAIRED)
    assert fs.listdir() == ["tokens.json"]  # the leftover moved into place


def test_fault_sync_failing():
    base = script({"/device": [device_response()], "/token": [token_response()], "/me": [ME]})
    fs = FaultFS()
    a = _app(base, fs)
    _run(a, lambda a: a.state == A.IDLE)
    a.button.press()
    _run(a, lambda a: a.state == A.POLLING)
    fs.sync_error = 1  # the sync before the rename fails: the new file is not trusted
    _run(a, lambda a: a.state == A.PAIRED)
    assert "flash write failed (5): retrying" in _statuses(a)
    assert fs.listdir() in ([], ["tokens.json"])  # no temp file left behind
    _run(a, lambda a: not a.session.save_pending, max_ms=40000)
    assert _stored(fs)["name"] == "Ada Lovelace"
    # the sync after the rename failing: the file is in place, nothing to retry
    st = TokenStore("tokens.json", fs, FakeClock(unix=T0))
    fs.sync_error = 0
    syncs = fs.syncs
    st.save(token_response(access_token="at-z")["json"])
    assert fs.syncs == syncs + 2  # data before the rename, the rename after it
    fs.sync_error = 0
    calls = []
    orig = fs.sync

    def late_fail():
        calls.append(1)
        if len(calls) == 2:
            raise OSError(5)
        orig()

    fs.sync = late_fail
    st.save(token_response(access_token="at-y")["json"])
    assert _stored(fs)["access_token"] == "at-y" and fs.listdir() == ["tokens.json"]


def _rotation_script():
    return script({"/device": [device_response()],
                   "/token": [token_response(access_token="at-1", refresh_token="rt-1",
                                             expires_in=200)]
                   + [token_response(access_token="at-2", refresh_token="rt-2",
                                     expires_in=3600)] * 2,
                   "/me": [ME]})


def _cut_rotations(rename_overwrites):
    """Power cut at every flash step of a rotation; the next boot has the old set or the
    new one, complete, and refreshes with exactly the refresh token on flash."""
    k = 0
    seen = set()
    while k < 40:
        gc.collect()
        base = _rotation_script()
        fs = FakeFS(rename_overwrites=rename_overwrites)
        a = _app(base, fs)
        _pair(a)
        fs.arm(step=k)
        try:
            _run(a, lambda a: a.session.tokens["refresh_token"] == "rt-2", max_ms=200000)
            break  # no cut reached: every step has been tried
        except PowerCut:
            pass
        fs.reboot()
        got = TokenStore("tokens.json", fs, FakeClock(unix=T0)).load()
        assert got is not None, k
        pair = (got["access_token"], got["refresh_token"], got["name"])
        assert pair in (("at-1", "rt-1", "Ada Lovelace"), ("at-2", "rt-2", "Ada Lovelace")), \
            (k, pair)
        seen.add(pair[1])
        b = _app(base, fs, unix=T0 + 100)  # 100 s later: at-1 is inside the refresh margin
        _run(b, lambda b: b.state == A.PAIRED)
        assert b.session.tokens["refresh_token"] == "rt-2", k
        sent = _sent_refresh_tokens(base)
        if pair[1] == "rt-2":
            assert sent == ["rt-1"], (k, sent)  # the rotated one never again
        else:
            assert sent == ["rt-1", "rt-1"], (k, sent)  # the new one never reached flash
        k += 1
    assert k >= 4 and seen == {"rt-1", "rt-2"}, (k, seen)
    return k


def test_fault_power_cut_at_every_step_of_a_rotation():
    print("rotation cut at %d steps" % _cut_rotations(True))


def test_fault_power_cut_mid_rotation_where_rename_cannot_overwrite():
    print("rotation cut at %d steps (no rename over)" % _cut_rotations(False))


def test_fault_remove_refused_on_unpair():
    base = script({"/me": [ME]})
    fs = _paired_fs()
    logs = []
    a = _app(base, fs, logs=logs)
    _run(a, lambda a: a.state == A.PAIRED)
    fs.remove_error = True
    a.button.press("long")
    _run(a, lambda a: a.state == A.CONFIRM)
    a.button.press()
    _run(a, lambda a: a.state == A.IDLE)
    assert not a.session.paired and a.screen.last == ("unpaired",)
    assert fs.read_file("tokens.json") == b""  # emptied, since it could not be removed
    n = request_count(base)
    b = _app(base, fs.reboot())  # flash still refuses removals
    _run(b, lambda b: b.state in (A.IDLE, A.PAIRED))
    assert b.state == A.IDLE, "an unpaired board came back paired after a reboot"
    assert b.screen.last == ("idle",) and request_count(base) == n
    b.button.press()  # and it pairs again over the emptied file
    _run(b, lambda b: b.state == A.START, max_ms=1000)


# -- clocks ---------------------------------------------------------------------------------------

def test_fault_ticks_wrap_mid_pairing():
    # the ticks counter wraps 2 s after the code is shown: the countdown and the deadline
    # still hold, and a code that is not approved expires after exactly its life
    base = script({"/device": [device_response(expires_in=30, interval=5)],
                   "/token": [pending(20)]})
    clock = FakeClock(start=(1 << 30) - 2000, unix=T0)
    a = _app(base, FaultFS(), clock=clock)
    _run(a, lambda a: a.state == A.IDLE)
    a.button.press()
    _run(a, lambda a: a.state == A.POLLING)
    t0 = clock.elapsed_ms
    _run(a, lambda a: a.state == A.EXPIRED, max_ms=60000)
    assert 29000 <= clock.elapsed_ms - t0 <= 31000, clock.elapsed_ms - t0
    assert clock.ticks_ms() < 100000  # it did wrap
    assert a.screen.last == ("expired",)
    a.button.press()  # and the button starts again
    _run(a, lambda a: a.state != A.EXPIRED, max_ms=1000)


def test_fault_ticks_wrap_with_the_wall_clock_unset():
    # no NTP: the token's life is kept as a ticks deadline in RAM, across the wrap
    base = script({"/device": [device_response()],
                   "/token": [token_response(access_token="at-1", expires_in=600),
                              token_response(access_token="at-2", expires_in=600)],
                   "/me": [ME]})
    clock = FakeClock(start=(1 << 30) - 1000, unix=None)
    a = _app(base, FaultFS(), clock=clock)
    _pair(a)
    t0 = clock.elapsed_ms  # the token arrived: 600 s of life from here
    clock.advance(400 * 1000)  # past the wrap, 200 s left: still valid
    _run(a, lambda a: a.state != A.PAIRED or clock.elapsed_ms - t0 >= 470000, max_ms=100000)
    assert a.state == A.PAIRED and a.session.tokens["access_token"] == "at-1"
    _run(a, lambda a: a.session.tokens["access_token"] == "at-2", max_ms=20000)
    # refreshed 120 s before the expiry, not at once (wrap misread) and not never
    assert 478000 <= clock.elapsed_ms - t0 <= 482000, clock.elapsed_ms - t0


def test_fault_wall_clock_unset_no_ntp():
    base = script({"/device": [device_response()],
                   "/token": [pending(1), token_response(access_token="at-1"),
                              token_response(access_token="at-2", refresh_token="rt-2")],
                   "/me": [ME]})
    fs = FaultFS()
    a = _app(base, fs, unix=None)
    _run(a, lambda a: a.state == A.IDLE)
    a.button.press()
    _run(a, lambda a: a.state == A.POLLING)
    assert not _code_on_flash(fs)  # no deadline to carry over
    _run(a, lambda a: a.state == A.PAIRED)
    assert _stored(fs)["expires_at"] is None and a.session.valid()  # usable this boot
    b = _app(base, fs.reboot(), unix=None)  # reboot, still no wall time: refresh first
    _run(b, lambda b: b.state == A.PAIRED)
    assert b.session.tokens["access_token"] == "at-2" and b.screen.last[1] == "Ada Lovelace"
    assert _sent_refresh_tokens(base) == ["rt-" + "r" * 40]


def test_fault_wall_clock_jumps_back_a_year():
    # the stored token looks valid for a year more: the API's 401 is what counts
    base = script({"/api": [{"status": 401, "body": ""}, {"json": {"ok": True}}],
                   "/token": [token_response(access_token="at-2", refresh_token="rt-2")],
                   "/me": [ME]})
    fs = _paired_fs(access_token="at-1", refresh_token="rt-1")
    a = _app(base, fs, unix=T0 + 7200 - YEAR)
    _run(a, lambda a: a.state == A.PAIRED)
    assert a.session.get(base + "/api").json() == {"ok": True}
    assert _sent_refresh_tokens(base) == ["rt-1"]
    assert _stored(fs)["refresh_token"] == "rt-2"
    # and while a code is on screen, its deadline is the ticks', not the wall clock's
    base = script({"/device": [device_response(expires_in=60)], "/token": [pending(30)]})
    clock = FakeClock(unix=T0)
    b = _app(base, FaultFS(), clock=clock)
    _run(b, lambda b: b.state == A.IDLE)
    b.button.press()
    _run(b, lambda b: b.state == A.POLLING)
    t0 = clock.elapsed_ms
    clock.set_unix(T0 - YEAR)
    _run(b, lambda b: b.state == A.EXPIRED, max_ms=120000)
    assert 59000 <= clock.elapsed_ms - t0 <= 61000


def test_fault_wall_clock_jumps_forward_a_year():
    base = script({"/token": [token_response(access_token="at-2", refresh_token="rt-2")],
                   "/me": [ME], "/device": [device_response(expires_in=600)]})
    fs = _paired_fs(access_token="at-1", refresh_token="rt-1")
    a = _app(base, fs, unix=T0 + YEAR)
    _run(a, lambda a: a.state == A.PAIRED)
    assert a.session.tokens["access_token"] == "at-2"  # refreshed first, not used stale
    assert _sent_refresh_tokens(base) == ["rt-1"]
    # a code on screen when the board reset, and the clock a year ahead after it: dropped
    fs = FaultFS()
    b = _app(base, fs)
    _run(b, lambda b: b.state == A.IDLE)
    b.button.press()
    _run(b, lambda b: b.state == A.POLLING)
    c = _app(base, fs.reboot(), unix=T0 + YEAR)
    _run(c, lambda c: c.state == A.IDLE)
    assert c.screen.last == ("idle",) and not _code_on_flash(fs)


def test_fault_rtc_reset_between_boots_with_a_stored_token():
    # the RTC forgot the time and NTP does not answer: an error screen that retries by
    # itself, no request with a token of unknown age, unpair in reach; the board, back in
    # PAIRED without wall time, treats the stored token as expired and refreshes it first
    base = script({"/token": [token_response(access_token="at-2", refresh_token="rt-2")],
                   "/me": [ME]})
    fs = _paired_fs(access_token="at-1", refresh_token="rt-1")
    ntp = {"up": False, "calls": 0}
    clock = FakeClock(unix=None)

    def timesync(rtc, host):
        ntp["calls"] += 1
        if not ntp["up"]:
            raise NetworkError("NTP: no answer from " + host)
        clock.set_unix(T0 + 60)

    a = _app(base, fs, clock=clock, timesync=timesync)
    _run(a, lambda a: a.state == A.ERROR)
    assert a.screen.last == ("error", "NTP: no answer from 127.0.0.1")
    _run(a, lambda a: ntp["calls"] >= 3, max_ms=60000)  # retried automatically
    assert a.session.paired and request_count(base) == 0
    a.button.press("long")  # unpair is reachable from the error screen
    _run(a, lambda a: a.state == A.CONFIRM, max_ms=1000)
    a.button.press("double")  # changed my mind: back
    _run(a, lambda a: a.state == A.PAIRED, max_ms=1000)
    _run(a, lambda a: a.session.tokens["access_token"] == "at-2", max_ms=60000)
    assert _sent_refresh_tokens(base) == ["rt-1"] and _stored(fs)["refresh_token"] == "rt-2"


def test_fault_token_file_with_a_header_in_the_access_token():
    # a tampered (or bit-flipped) file: its access token would go verbatim into
    # "Authorization: Bearer ..." - CR/LF there injects headers into every API call
    base = script({"/me": [ME]})
    for tok in ("at-1\r\nX-Injected: 1", "at-1\nHost: evil.example", "at 1", "at-1\x00",
                "=", "at-\u00e9"):
        fs = FaultFS({"tokens.json": json.dumps({"access_token": tok,
                                                 "expires_at": -1}).encode()})
        logs = []
        a = _app(base, fs, logs=logs)
        _run(a, lambda a: a.state in (A.IDLE, A.PAIRED))
        assert a.state == A.IDLE and a.screen.last == ("idle",), (tok, a.screen.last)
        assert [x for x in logs if "stored access token refused" in x], logs
    assert request_count(base) == 0  # nothing was sent with it


class TmpReadErrorFS(FaultFS):
    """EIO reading the temp file only (a worn block under it)."""

    def open(self, path, mode="rb"):
        if mode == "rb" and self.read_error and path.endswith(".tmp"):
            raise OSError(5)
        return FaultFS.open(self, path, mode)


def test_fault_read_error_on_the_newer_temp_file():
    # a cut before the rename left the complete new set (rt-2) in the temp file and the old,
    # already rotated set (rt-1) in the main file; reading the temp file fails once. The temp
    # file must not be thrown away for it (rt-1 would be presented and refused: unpaired)
    base = script({"/token": [token_response(access_token="at-3", refresh_token="rt-3")],
                   "/me": [ME]})
    fs = _paired_fs(access_token="at-1", refresh_token="rt-1")
    newer = TokenStore("x", FaultFS(), FakeClock(unix=T0))
    fs = TmpReadErrorFS(fs.files)
    fs.write_file("tokens.json.tmp", json.dumps(newer.record(token_response(
        access_token="at-2", refresh_token="rt-2", expires_in=60)["json"])).encode())
    fs.read_error = True
    logs = []
    a = _app(base, fs, logs=logs)
    _run(a, lambda a: a.state == A.IDLE)
    assert [x for x in logs if "cannot read (5)" in x], logs
    assert sorted(fs.listdir()) == ["tokens.json", "tokens.json.tmp"]  # both kept
    assert request_count(base) == 0  # rt-1 was not presented
    fs.read_error = False
    b = _app(base, fs.reboot())  # readable again: the newer set, refreshed (60 s left)
    _run(b, lambda b: b.state == A.PAIRED)
    assert _sent_refresh_tokens(base) == ["rt-2"]
    assert _stored(fs)["refresh_token"] == "rt-3" and fs.listdir() == ["tokens.json"]
