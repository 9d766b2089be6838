"""TokenStore on real filesystems: CPython on tmp_path, and the MicroPython binary on a temp
dir (VfsPosix) and on LittleFS2 and FAT images in RAM (the filesystems boards use).

These prove the one thing FakeFS only assumes: ``os.rename`` over an existing file works
(atomically replacing it) where the board code runs.
"""

import json
import os
import subprocess

from conftest import LIB, SUPPORT, micropython_bin
from devicepair.tokens import MAX_FILE, TokenStore
from fakeclock import FakeClock

NOW = 1767225600
A = {"access_token": "AT-a", "refresh_token": "RT-a", "expires_in": 3600, "id_token": "x" * 900}
B = {"access_token": "AT-b", "expires_in": 60, "name": "Bo"}


def test_cpython_real_directory(tmp_path):
    path = str(tmp_path / "tokens.json")
    st = TokenStore(path, clock=FakeClock(unix=NOW))
    assert st.load() is None and st.last_error is None
    a = st.save(A)
    ino = os.stat(path).st_ino
    b = st.update_after_refresh(a, B)
    assert b["refresh_token"] == "RT-a" and b["name"] == "Bo"
    assert os.stat(path).st_ino != ino  # replaced by rename, not rewritten in place
    assert sorted(os.listdir(tmp_path)) == ["tokens.json"]
    assert TokenStore(path).load() == b
    # leftover complete temp file (cut before the rename) is newer: recovered
    (tmp_path / "tokens.json.tmp").write_text(json.dumps(a))
    assert TokenStore(path).load() == a and sorted(os.listdir(tmp_path)) == ["tokens.json"]
    # a partial one is removed and the main file kept
    (tmp_path / "tokens.json.tmp").write_text('{"access_token": "AT-')
    assert TokenStore(path).load() == a and sorted(os.listdir(tmp_path)) == ["tokens.json"]
    st.clear()
    assert os.listdir(tmp_path) == [] and st.load() is None


def test_cpython_real_8k_limit_and_deep_nesting(tmp_path):
    path = str(tmp_path / "tokens.json")
    pad = " " * (MAX_FILE - 20)
    (tmp_path / "tokens.json").write_text(pad + '{"access_token": "x"}')  # 8193 bytes
    st = TokenStore(path)
    assert st.load() is None and "too large" in st.last_error
    (tmp_path / "tokens.json").write_text(pad[1:] + '{"access_token": "x"}')  # 8192 bytes
    assert TokenStore(path).load()["access_token"] == "x"
    (tmp_path / "tokens.json").write_text("[" * MAX_FILE)  # RecursionError in CPython's json
    assert st.load() is None and "not valid JSON" in st.last_error
    big = dict(A, access_token="x" * MAX_FILE)
    try:
        st.save(big)
    except ValueError as e:
        assert "too large" in str(e)
    else:
        raise AssertionError("oversize saved")


_MP_SCRIPT = r"""
import os, json
from devicepair.tokens import TokenStore
from fakeclock import FakeClock

class RAMBlockDev:
    def __init__(self, size, n):
        self.size = size
        self.data = bytearray(size * n)
    def readblocks(self, n, buf, off=0):
        a = n * self.size + off
        buf[:] = self.data[a:a + len(buf)]
    def writeblocks(self, n, buf, off=0):
        a = n * self.size + off
        self.data[a:a + len(buf)] = buf
    def ioctl(self, op, arg):
        if op == 4:
            return len(self.data) // self.size
        if op == 5:
            return self.size
        return 0

def check(d):
    p = d + "/tokens.json"
    st = TokenStore(p, clock=FakeClock(unix=1767225600))
    a = st.save({"access_token": "AT-a", "refresh_token": "RT-a", "expires_in": 3600})
    b = st.update_after_refresh(a, {"access_token": "AT-b", "expires_in": 60})
    assert sorted(os.listdir(d)) == ["tokens.json"], os.listdir(d)
    got = TokenStore(p).load()
    assert got == b and got["refresh_token"] == "RT-a", got
    with open(p + ".tmp", "w") as f:
        f.write(json.dumps(a))
    assert TokenStore(p).load() == a and sorted(os.listdir(d)) == ["tokens.json"]
    with open(p + ".tmp", "w") as f:
        f.write('{"access_')
    assert TokenStore(p).load() == a and sorted(os.listdir(d)) == ["tokens.json"]
    # plain os.rename over an existing file
    with open(d + "/x", "w") as f:
        f.write("new")
    os.rename(d + "/x", p)
    assert open(p).read() == "new" and sorted(os.listdir(d)) == ["tokens.json"]
    st.clear()
    assert os.listdir(d) == []
    print("OK " + d)

check(WORKDIR)
for name in ("VfsLfs2", "VfsFat"):
    cls = getattr(os, name)
    bd = RAMBlockDev(512, 128)
    cls.mkfs(bd)
    os.mount(cls(bd), "/ram")
    try:
        check("/ram")
        print("OK " + name)
    finally:
        os.umount("/ram")
"""


def test_micropython_real_directory_and_board_filesystems(tmp_path):
    env = dict(os.environ, MICROPYPATH=":".join([SUPPORT, LIB]))
    script = "WORKDIR = %r\n%s" % (str(tmp_path), _MP_SCRIPT)
    p = subprocess.run([micropython_bin(), "-X", "heapsize=256K", "-c", script], env=env,
                       capture_output=True, text=True, timeout=60, cwd=str(tmp_path))
    out = p.stdout + p.stderr
    assert p.returncode == 0, out
    assert ("OK " + str(tmp_path)) in out, out
    assert "OK VfsLfs2" in out and "OK VfsFat" in out, out


def test_out_of_memory_while_reading_keeps_the_files():
    """(CPython only, FakeFS) a MemoryError is no reason to call a temp file partial."""
    from fakefs import FakeFS

    class NoMemFS(FakeFS):
        def open(self, path, mode="rb"):
            f = FakeFS.open(self, path, mode)
            if mode == "rb":
                def read(n=-1):
                    raise MemoryError
                f.read = read
            return f

    fs = NoMemFS()
    st = TokenStore(fs=fs, clock=FakeClock(unix=NOW))
    st.save(A)
    fs.write_file("tokens.json.tmp", fs.read_file("tokens.json"))
    assert st.load() is None and "memory" in st.last_error
    assert fs.listdir() == ["tokens.json", "tokens.json.tmp"]
