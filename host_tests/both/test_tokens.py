"""TokenStore on FakeFS (both interpreters): every power-cut point, corrupt files, expiry."""

import json
from devicepair import tokens as T
from fakeclock import FakeClock
from fakefs import FakeFS, cut_points

NOW = 1767225600  # 2026-01-01
TMP = "tokens.json.tmp"
OLD = {"access_token": "AT-old-" + "a" * 40, "refresh_token": "RT-old-" + "r" * 30,
       "expires_in": 3600, "token_type": "Bearer", "scope": "openid offline_access",
       "id_token": "ID-old-" + "i" * 300, "name": "Ada"}
NEW = {"access_token": "AT-new-" + "b" * 40, "refresh_token": "RT-new-" + "s" * 30,
       "expires_in": 7200, "id_token": "ID-new-" + "j" * 300, "name": "Ada L."}


def _st(fs, clock=None):
    return T.TokenStore(fs=fs, clock=clock or FakeClock(unix=NOW))


def _old(overwrites=True):
    fs = FakeFS(rename_overwrites=overwrites)
    return fs, _st(fs).save(OLD)


def _limit(n, fn):
    """fn() with MAX_FILE = n: no room for 8 KB here (test_tokens_real_fs.py checks 8 KB)."""
    saved = T.MAX_FILE
    T.MAX_FILE = n
    try:
        return fn()
    finally:
        T.MAX_FILE = saved


def _no_secret(text):
    for s in ("AT-", "RT-", "ID-"):
        assert s not in text, text


def test_round_trip_keeps_only_what_is_needed():
    fs = FakeFS()
    st = _st(fs)
    assert st.load() is None and st.last_error is None  # unpaired
    rec = st.save(OLD)
    raw = fs.read_file("tokens.json")
    assert fs.listdir() == ["tokens.json"] and len(raw) < 300 and b"ID-" not in raw
    got = _st(fs).load()
    assert got == rec and got["expires_at"] == NOW + 3600
    for k in ("access_token", "refresh_token", "token_type", "scope", "name"):
        assert got[k] == OLD[k]
    assert len(got) == 6  # nothing else: no id_token, no expires_in


def _cuts(make_fs, op, old, new):
    """Every cut point of op: load() gives exactly old or new, cleanly, also next boot."""
    seen = [0, 0]
    for label, fs in cut_points(make_fs, op):
        st = _st(fs)
        got = st.load()
        assert st.last_error is None and got in (old, new), label
        seen[got == new] += 1
        assert fs.listdir() == (["tokens.json"] if got else []), label
        assert _st(fs).load() == got, label
    assert seen[0] and seen[1], seen
    return seen


def test_every_cut_point_of_a_save_leaves_old_or_new():
    new = _st(FakeFS()).save(NEW)
    for overwrites in (True, False):
        base, old = _old(overwrites)
        seen = _cuts(base.clone, lambda fs: _st(fs).save(NEW), old, new)
        assert seen[0] > len(json.dumps(new)), seen  # every byte was a cut point
        assert seen[1] >= (1 if overwrites else 2), seen  # cut after remove: recovered
    _cuts(FakeFS, lambda fs: _st(fs).save(NEW), None, new)  # the very first save
    # a refresh update, keeping the refresh token
    base, old = _old()
    resp = {"access_token": "AT-new-x", "expires_in": 600}
    new = _st(FakeFS()).update_after_refresh(old, resp)
    _cuts(base.clone, lambda fs: _st(fs).update_after_refresh(old, resp), old, new)


def _leftover(overwrites=True, main=True):
    """The state after a cut between closing the temp file and the rename."""
    fs, old = _old(overwrites)
    new = _st(FakeFS()).save(NEW)
    fs.write_file(TMP, json.dumps(new))
    if not main:
        fs.remove("tokens.json")
    return fs, old, new


def test_complete_temp_file_is_newer_and_recovered_even_if_cut_again():
    for ow in (True, False):
        for main in (True, False):
            fs, old, new = _leftover(ow, main)
            st = _st(fs)
            assert st.load() == new and st.last_error is None
            assert fs.listdir() == ["tokens.json"]
            assert json.loads(fs.read_file("tokens.json")) == new
        fs, old, new = _leftover(ow)
        for label, f in cut_points(fs.clone, lambda f: _st(f).load()):
            assert _st(f).load() == new and f.listdir() == ["tokens.json"], label


# Bad file contents, one a line: "expected words in last_error | content" (BIN: b"\xff\xfe",
# BIG: valid but 1 byte over a 300-byte limit). As text: literals cost the 64K heap more.
BAD = """empty |
JSON | {
JSON | {"access_token": "AT-old-x", "ref
JSON | BIN
object | null
object | ["AT-old-x"]
access | {"refresh_token": "RT-x"}
access | {"access_token": ""}
access | {"access_token": 42}
refresh_token | {"access_token": "AT-x", "refresh_token": 7}
expires_at | {"access_token": "AT-x", "expires_at": "soon"}
expires_at | {"access_token": "AT-x", "expires_at": true}
expires_at | {"access_token": "AT-x", "expires_at": 1.5}
name | {"access_token": "AT-x", "name": ["x"]}
too large | BIG"""


def _bad():
    for line in BAD.split("\n"):
        why, data = line.split(" |")
        data = data[1:].encode()
        if data in (b"BIN", b"BIG"):
            data = b"\xff\xfe" if data == b"BIN" else b" " * 277 + b'{"access_token": "AT-x"}'
        yield why, data


def test_corrupt_files_give_none_and_a_readable_error():
    n = 0
    for why, data in _bad():
        fs = FakeFS({"tokens.json": data})
        st = _st(fs)
        assert _limit(300, st.load) is None, data[:30]
        assert why in st.last_error and "pair again" in st.last_error, st.last_error
        _no_secret(st.last_error)
        st.save(NEW)  # pairing again replaces it
        assert _st(fs).load()["access_token"] == NEW["access_token"]
        # the same content as a leftover temp file: ignored and removed, main file kept
        fs, old = _old()
        fs.write_file(TMP, data)
        st = _st(fs)
        assert _limit(300, st.load) == old and st.last_error is None, data[:30]
        assert fs.listdir() == ["tokens.json"]
        n += 1
    assert n == 15
    fs = FakeFS({"tokens.json": b'{"access_token": "AT-x", "refresh_token": null}'})
    got = _st(fs).load()
    assert got["refresh_token"] is None and got["expires_at"] is None and got["name"] is None


def test_expiry_with_wall_clock_survives_reboot():
    clock = FakeClock(unix=NOW)
    fs = FakeFS()
    st = _st(fs, clock)
    rec = st.save(OLD)  # expires_in 3600
    assert st.access_valid(rec)
    clock.advance(3539 * 1000)
    assert st.access_valid(rec)
    clock.advance(2000)
    assert not st.access_valid(rec) and st.access_valid(rec, margin_s=30)
    st2 = _st(fs, FakeClock(start=12345, unix=NOW + 1000))  # reboot, NTP done
    got = st2.load()
    assert st2.access_valid(got, margin_s=2599) and not st2.access_valid(got, margin_s=2601)


def test_expiry_without_wall_clock_uses_ticks_in_this_boot_only():
    clock = FakeClock()  # no wall time; 5 s before the ticks wrap
    fs = FakeFS()
    st = _st(fs, clock)
    rec = st.save(OLD)
    assert rec["expires_at"] is None and st.access_valid(st.load())
    clock.advance(3539 * 1000)  # across the wrap
    assert st.access_valid(rec)
    clock.advance(2000)
    assert not st.access_valid(rec)
    assert not st.access_valid({"access_token": "AT-other", "expires_at": None})
    assert not st.access_valid(None) and not st.access_valid({})
    st.save(OLD)
    clock.set_unix(NOW)  # NTP later in this boot: expires_at unknown, the ticks still count
    assert st.access_valid(st.load())
    for c in (FakeClock(), FakeClock(unix=NOW)):  # reboot: unknown expiry -> refresh first
        st2 = _st(fs, c)
        assert not st2.access_valid(st2.load())


def test_saving_a_stored_set_again_keeps_its_expiry():
    for unix in (NOW, None):
        clock = FakeClock(unix=unix)
        fs = FakeFS()
        st = _st(fs, clock)
        rec = st.save(OLD)
        rec["name"] = "Grace"  # what the app does after who-am-I
        clock.advance(1000 * 1000)
        if unix is None:
            clock.set_unix(NOW + 1000)  # NTP came: the RAM deadline becomes expires_at
        again = st.save(rec)
        assert again["name"] == "Grace" and st.access_valid(again, margin_s=2599)
        assert not st.access_valid(again, margin_s=2601)
        st2 = _st(fs, FakeClock(unix=NOW + 1000))  # reboot with wall time
        assert st2.load()["expires_at"] == NOW + 3600 and st2.access_valid(st2.load())


def test_expires_in_forms():
    st = _st(FakeFS())
    for v, exp in ((3600, NOW + 3600), ("3600", NOW + 3600), (3600.0, NOW + 3600), (0, NOW),
                   (None, -1), ("soon", None), (-5, None), (True, None)):
        d = dict(OLD)
        d["expires_in"] = v
        d["access_token"] = "AT-" + str(v)  # a new token each time: nothing known about it
        rec = st.save(d)
        assert rec["expires_at"] == exp, v
    assert not _st(FakeFS(), FakeClock()).access_valid(rec)


def test_refresh_merge_keeps_old_refresh_token():
    fs = FakeFS()
    clock = FakeClock(unix=NOW)
    st = _st(fs, clock)
    old = st.save(OLD)
    clock.advance(3000 * 1000)
    got = st.update_after_refresh(old, {"access_token": "AT-1", "expires_in": 3600})
    assert got["refresh_token"] == OLD["refresh_token"] and got["name"] == "Ada"
    assert got["scope"] == OLD["scope"] and got["expires_at"] == NOW + 3000 + 3600
    assert _st(fs, clock).load() == got and st.access_valid(got)
    got = st.update_after_refresh(got, {"access_token": "AT-2", "refresh_token": "RT-2",
                                        "scope": "openid"})  # rotated
    assert got["refresh_token"] == "RT-2" and got["scope"] == "openid"
    got = st.update_after_refresh(got, {"access_token": "AT-3", "refresh_token": None})
    assert got["refresh_token"] == "RT-2" and _st(fs).load() == got


def test_clear_unpairs_even_when_cut():
    st = _st(FakeFS(), FakeClock())  # no wall time: only the RAM deadline, which clear() drops
    rec = st.save(NEW)
    st.fs.write_file(TMP, b"{")
    st.clear()
    assert st.fs.listdir() == [] and st.load() is None and st.last_error is None
    assert not st.access_valid(rec)
    st.clear()  # nothing left: fine
    fs, old, new = _leftover()
    for label, f in cut_points(fs.clone, lambda f: _st(f).clear()):
        # before anything: the pending save wins; the temp file goes first, so a cut before
        # the second remove leaves the old set - never a stale "newer" temp file
        assert _st(f).load() == {"step 0": new, "step 1": old}[label[:6]], label


def test_save_refuses_garbage_and_oversize_and_never_shows_tokens():
    fs, old = _old()
    st = _st(fs)
    big = dict(NEW)
    big["access_token"] = "AT-" + "x" * 600
    for bad in (None, {}, {"access_token": ""}, {"access_token": 5}, "AT-x", big):
        try:
            _limit(512, lambda b=bad: st.save(b))
        except ValueError as e:
            _no_secret(str(e))
        else:
            raise AssertionError("saved")
    assert T.MAX_FILE == 8192 and fs.listdir() == ["tokens.json"] and st.load() == old
    _no_secret(repr(st) + str(st) + repr(T.LocalFS()))
    assert "tokens.json" in repr(st)


def test_flash_error_keeps_a_complete_set():
    for k in range(6):  # open, write, close, rename [, remove, rename]
        fs, old = _old()
        fs.arm(fail_step=k)
        try:
            _st(fs).save(NEW)
        except OSError:
            pass
        fs.arm()
        got = _st(fs).load()
        assert got and got["access_token"] in (OLD["access_token"], NEW["access_token"]), k

