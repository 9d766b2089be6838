"""Durability under a real ``kill -9``: a MicroPython (unix port) process rotates its tokens in
a loop on a real directory and is killed with SIGKILL at random moments; after every kill the
next process must load a complete token set - the last one it confirmed, or the one it was
writing - never a mix of two, never an older one, never nothing.

FakeFS (both/test_tokens.py, both/test_faults_storage_clock.py) cuts at every step of a save
by construction; this proves the same on a real filesystem with a real process death in the
middle of ``write``/``close``/``rename``. (A kill is not a power cut: the kernel still writes
what the process handed it. What flash guarantees on a power cut is in the README, "Security
defaults and the token store".)
"""

import json
import os
import random
import shutil
import signal
import subprocess
import time

from conftest import LIB, SUPPORT, micropython_bin
from devicepair.tokens import TokenStore
from fakeclock import FakeClock

KILLS = 50

# Each generation's three fields carry its number: a set mixed from two saves shows at once.
# The padding makes every save ~3 KB, so a kill often lands inside a write.
_CHILD = r"""
import sys
from devicepair.tokens import TokenStore
from fakeclock import FakeClock

st = TokenStore(PATH, clock=FakeClock(unix=1767225600))
t = st.load()
if t is None:
    g = 0
    if st.last_error:
        print("BAD " + st.last_error)
else:
    g = int(t["name"][1:])
    if t["access_token"] != "at-%d" % g or t["refresh_token"] != "rt-%d-%s" % (g, "p" * 3000):
        print("MIX %d" % g)
print("L %d" % g)
for i in range(LIMIT):
    g += 1
    st.save({"access_token": "at-%d" % g, "refresh_token": "rt-%d-%s" % (g, "p" * 3000),
             "expires_in": 3600, "name": "g%d" % g})
    print("S %d" % g)
"""


def _run_child(path, env, limit, kill_after_s):
    """Start a child; kill it ``kill_after_s`` after it loaded (None: let it finish).
    Returns (loaded generation, last confirmed save, output lines)."""
    code = "PATH = %r\nLIMIT = %d\n%s" % (path, limit, _CHILD)
    p = subprocess.Popen([micropython_bin(), "-X", "heapsize=128K", "-c", code], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, bufsize=0)
    lines = []
    buf = b""
    try:
        while b"\n" not in buf:  # wait for the load line (bounded by the read's EOF)
            b = p.stdout.read(1)
            if not b:
                break
            buf += b
        if kill_after_s is not None:
            time.sleep(kill_after_s)
            p.send_signal(signal.SIGKILL)
        rest, _ = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    lines = (buf + rest).decode(errors="replace").splitlines()
    # a line cut by the kill is not a confirmation
    complete = (buf + rest).endswith(b"\n")
    if not complete and lines:
        lines.pop()
    loaded = None
    saved = None
    for line in lines:
        if line.startswith("L "):
            loaded = int(line[2:])
        elif line.startswith("S "):
            saved = int(line[2:])
    return loaded, saved, lines


def _peek(d, scratch):
    """What a reboot would load from directory ``d``, read from a copy (``load`` finishes an
    interrupted save by renaming, and the next child must find the directory untouched)."""
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.copytree(d, scratch)
    t = TokenStore(os.path.join(scratch, "tokens.json"), clock=FakeClock(unix=1767225600)).load()
    return None if t is None else int(t["name"][1:]), t


def test_kill_9_during_saves_leaves_the_old_or_the_new_set(tmp_path):
    env = dict(os.environ, MICROPYPATH=":".join([SUPPORT, LIB]))
    d = tmp_path / "flash"
    d.mkdir()
    path = str(d / "tokens.json")
    rnd = random.Random(9)
    confirmed = 0  # the newest generation a child reported saved (or loaded)
    newer = tmps = 0
    for k in range(KILLS):
        loaded, saved, lines = _run_child(path, env, 100000, rnd.uniform(0.0, 0.03))
        bad = [x for x in lines if x.startswith(("BAD", "MIX", "Traceback"))]
        assert not bad, (k, bad)
        # this child loaded the set the previous one confirmed, or the one it was writing
        assert loaded in (confirmed, confirmed + 1), (k, loaded, confirmed)
        if saved is None:  # killed before its first save was confirmed
            saved = loaded
        g, t = _peek(str(d), str(tmp_path / "peek"))
        assert g in (saved, saved + 1), (k, g, saved)
        assert t["access_token"] == "at-%d" % g and t["refresh_token"].startswith("rt-%d-" % g)
        newer += g == saved + 1
        tmps += os.path.exists(path + ".tmp")
        confirmed = saved
    # one clean run at the end: loads, saves three times, exits; the directory is tidy again
    loaded, saved, lines = _run_child(path, env, 3, None)
    assert loaded in (confirmed, confirmed + 1) and saved == loaded + 3, lines
    assert sorted(os.listdir(d)) == ["tokens.json"]
    assert json.loads((d / "tokens.json").read_text())["name"] == "g%d" % saved
    print("kill -9: %d kills, %d generations saved; %d kills left the save under way as the "
          "newest complete set, %d left a temp file" % (KILLS, saved, newer, tmps))
