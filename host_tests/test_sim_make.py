"""``make demo`` and ``make sim`` for real: the Makefile targets, tools/sim.py, the firmware
under MicroPython and tools/authserver.py, run the way a user runs them.

demo must pair on its own and print the screens it went through (read back from its text art
by exact glyph matching), and fail with a reason, in bounded time, when the board cannot pair.
sim runs on a pseudo-terminal, as in a user's shell: Enter is a button press, and Ctrl-C (a
real ^C through the terminal, so SIGINT reaches make and tools/sim.py as the foreground process
group) or closing the terminal (SIGHUP, as a shell passes it on to its jobs) stops
everything. After each run no process of it may survive: every live process is checked for a
command line or working directory inside the run's own sim-out folder. Setup is not re-run
(``make -o setup``): the suite itself runs after it.
"""

import fcntl
import importlib.util
import json
import os
import pty
import re
import select
import signal
import ssl
import struct
import subprocess
import sys
import termios
import threading
import time

import pytest

import simscreen
from conftest import ROOT, micropython_bin

_spec = importlib.util.spec_from_file_location("devicepair_tools_sim_make",
                                               os.path.join(ROOT, "tools", "sim.py"))
sim = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sim)

CODE = r"[A-Z0-9]{4}-[A-Z0-9]{4}"


def make(target, out, *sim_args):
    return ["make", "-s", "-o", "setup", target, "PY=" + sys.executable,
            "MICROPYTHON=" + micropython_bin(),
            "SIM_ARGS=" + " ".join(("--out", out) + sim_args)]


def make_env():
    # not the make flags of an enclosing `make test` (jobserver, its command-line variables)
    e = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    e.pop("DEVICEPAIR_SIM_SCREEN", None)
    return e


def processes_of(out):
    """{pid: command line} of every live process whose command line or cwd is under out."""
    found = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
            cwd = os.readlink("/proc/%s/cwd" % pid)
        except OSError:  # gone meanwhile, or a zombie (no cwd): not running
            continue
        if out in cmd or cwd == out or cwd.startswith(out + os.sep):
            found[int(pid)] = cmd
    return found


def assert_none_left(out, within=0.0):
    """No process of the run in ``out`` is alive: at once, or after at most ``within`` s, each
    one found being waited for through a pidfd (readable when the process has exited)."""
    deadline = time.monotonic() + within
    left = processes_of(out)
    for pid in list(left):
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:
            del left[pid]
            continue
        try:
            if select.select([fd], [], [], max(0.0, deadline - time.monotonic()))[0]:
                del left[pid]
        finally:
            os.close(fd)
    for pid in left:  # never leak them into the rest of the suite, then fail
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert not left, "processes survived: %r" % left


def frames(text):
    """Every OLED frame printed as half-block art, as simscreen.Screen objects."""
    lines = text.splitlines()
    found = []
    for i, ln in enumerate(lines):
        if ln.startswith("\u250c") and len(ln) == 130:
            art = lines[i + 1:i + 33]
            buf = bytearray(1024)
            for row, body in enumerate(art):
                for x, c in enumerate(body[1:129]):
                    top, bottom = c in "\u2580\u2588", c in "\u2584\u2588"
                    for y, on in ((2 * row, top), (2 * row + 1, bottom)):
                        if on:
                            buf[(y >> 3) * 128 + x] |= 1 << (y & 7)
            found.append(simscreen.Screen(bytes(buf)))
    return found


# -- make demo ---------------------------------------------------------------------------------
def art_lines(n, fill):
    return (["[sim] screen %d" % n, "\u250c" + "\u2500" * 128 + "\u2510"]
            + ["\u2502" + fill * 128 + "\u2502"] * 32 + ["\u2514" + "\u2500" * 128 + "\u2518"])


def test_demo_follower_reads_frames_and_survives_cut_art(capsys):
    d = sim._Demo()
    lines = art_lines(1, " ") + ["[devicepair] state: idle"] + art_lines(2, "\u2588")
    lines += art_lines(3, "\u2580")[:7]  # a crash while the board printed frame 3
    lines += ["[devicepair] error: MemoryError: memory allocation failed",
              "[devicepair] state: idle", "[devicepair] state: start"]
    lines += art_lines(4, "\u2584") + ["[devicepair] paired as Demo User", None]
    for ln in lines:
        d.on_line(ln)
    printed = capsys.readouterr().out
    assert d.error == "MemoryError: memory allocation failed"
    assert d.idles == 2 and d.state == "start"
    assert d.frame == 4 and d.marks == {"idle": 2, "paired": 4}
    assert d.result == "paired" and d.name == "Demo User"  # EOF afterwards changes nothing
    assert len(d.frames) == 3 and printed.count("\u250c") == 3  # frame 3 was cut: dropped
    assert "[sim] screen" not in printed and "state: idle" in printed


def test_make_demo_pairs_and_prints_its_screens(tmp_path):
    out = str(tmp_path / "sim-out")
    t0 = time.monotonic()
    p = subprocess.run(make("demo", out, "--timeout", "60"), cwd=ROOT, env=make_env(),
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=150)
    took = time.monotonic() - t0
    log = p.stdout + p.stderr
    assert p.returncode == 0, log[-4000:]
    assert "demo: OK, the board is paired as Demo User" in p.stdout
    assert "[devicepair] Paired as Demo User" in p.stdout
    assert "FAILED" not in log
    shown = [s.text() for s in frames(p.stdout)]
    ready = [i for i, t in enumerate(shown) if "Ready" in t and "Press button to" in t]
    coded = [i for i, t in enumerate(shown) if re.search(CODE, t) and "/device" in t]
    paired = [i for i, t in enumerate(shown) if "Paired" in t and "as Demo User" in t]
    assert ready and coded and paired, shown
    assert ready[0] < coded[0] < paired[-1] == len(shown) - 1, shown
    assert took < 120
    assert os.path.exists(os.path.join(out, "flash", "tokens.json"))
    # over verified HTTPS: the simulator's CA reached the board as DER, through provision
    cfg = json.load(open(os.path.join(out, "flash", "config.json")))
    assert cfg["ca_file"] == "ca.der" and "allow_insecure_http" not in cfg
    assert cfg["token_endpoint"].startswith("https://localhost:")
    with open(os.path.join(out, "tls", "ca.pem")) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    assert open(os.path.join(out, "flash", "ca.der"), "rb").read() == der
    assert_none_left(out)


def _picow():
    from tools import build

    exe, why = build.board_bin("picow")
    return exe, why


@pytest.mark.parametrize("how", ["http", "picow"])
def test_make_demo_variants(tmp_path, how):
    # --http: plain HTTP for debugging; --picow: the Pico W stand-in (TLS in its heap)
    if how == "picow" and _picow()[0] is None:
        pytest.skip("Pico W stand-in: " + _picow()[1])
    out = str(tmp_path / "sim-out")
    p = subprocess.run(make("demo", out, "--timeout", "60", "--" + how), cwd=ROOT,
                       env=make_env(), stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=150)
    assert p.returncode == 0, (p.stdout + p.stderr)[-4000:]
    assert "demo: OK, the board is paired as Demo User" in p.stdout
    cfg = json.load(open(os.path.join(out, "flash", "config.json")))
    if how == "http":
        assert cfg["allow_insecure_http"] is True and "ca_file" not in cfg
        assert cfg["token_endpoint"].startswith("http://127.0.0.1:")
    else:
        assert cfg["ca_file"] == "ca.der" and cfg["token_endpoint"].startswith("https://")
        assert "micropython-u32gc -X heapsize=160K" in p.stdout
    assert_none_left(out)


def test_make_demo_fails_with_the_reason(tmp_path):
    # a heap too small for the firmware: it crashes and restarts, never pairs
    out = str(tmp_path / "sim-out")
    t0 = time.monotonic()
    p = subprocess.run(make("demo", out, "--timeout", "6", "--heap", "120K"), cwd=ROOT,
                       env=make_env(), stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=90)
    took = time.monotonic() - t0
    assert p.returncode != 0
    msg = [ln for ln in p.stderr.splitlines() if ln.startswith("demo: FAILED: ")]
    assert len(msg) == 1, p.stderr[-3000:]
    assert 'did not say "Paired as ..." within 6 s' in msg[0]
    assert "MemoryError" in msg[0]
    assert "demo: OK" not in p.stdout
    assert took < 45
    assert_none_left(out)


# -- make sim on a terminal ----------------------------------------------------------------------
class Terminal:
    """A pseudo-terminal (140x50) as the controlling terminal of a new session running cmd.
    A thread collects everything written to it; only that thread reads or closes the master
    side, so hang_up() (closing it, as when a terminal window is closed) never races a read."""

    def __init__(self, cmd, env):
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 140, 0, 0))

        def session():  # like a login shell's job: own session, the pty as its terminal
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.master = master
        self._buf = b""
        self._cond = threading.Condition()
        self._hangup = threading.Event()
        try:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=slave, stdout=slave,
                                         stderr=slave, preexec_fn=session)
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        try:
            while not self._hangup.is_set():
                if not select.select([self.master], [], [], 0.05)[0]:
                    continue
                try:
                    data = os.read(self.master, 65536)
                except OSError:  # EIO: every process has closed the terminal
                    data = b""
                with self._cond:
                    self._buf += data
                    self._cond.notify_all()
                if not data:
                    return
        finally:
            os.close(self.master)
            with self._cond:
                self._cond.notify_all()

    def text(self):
        with self._cond:
            return self._buf.decode("utf-8", "replace")

    def expect(self, pattern, timeout):
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                m = rx.search(self._buf.decode("utf-8", "replace"))
                if m:
                    return m
                left = deadline - time.monotonic()
                if left <= 0 or not self._reader.is_alive():
                    raise AssertionError("no %r on the terminal; it shows:\n%s"
                                         % (pattern, self.text()[-3000:]))
                self._cond.wait(left)

    def type(self, data):
        os.write(self.master, data)

    def closed(self, timeout):
        """Wait until every process has closed the terminal (the reader saw EIO)."""
        self._reader.join(timeout)
        return not self._reader.is_alive()

    def hang_up(self):
        self._hangup.set()
        self._reader.join(10)

    def close(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(10)
        self.hang_up()


@pytest.mark.parametrize("stop", ["ctrl-c", "hang-up"])
def test_make_sim_press_then_stop(tmp_path, stop):
    out = str(tmp_path / "sim-out")
    term = Terminal(make("sim", out), make_env())
    try:
        url = term.expect(r"verification page: +(https://localhost:\d+)/device", 60).group(1)
        term.expect(r"\[devicepair\] Press button to pair", 30)
        assert "\x1b[35r" in term.text() and "\u2580" in term.text()  # the OLED, drawn above
        term.type(b"\r")  # Enter: a short press
        code = term.expect(r"and enter the code (%s)" % CODE, 20).group(1)
        term.expect(r"pairing: open %s/device and enter %s" % (re.escape(url), code), 10)
        running = processes_of(out).values()
        assert any("authserver.py" in c for c in running), running
        assert any("micropython" in c for c in running), running
        if stop == "ctrl-c":
            term.type(b"\x03")
        else:  # the terminal window is closed: the shell sends SIGHUP to its jobs, then the
            os.killpg(term.proc.pid, signal.SIGHUP)  # terminal itself goes away
            term.hang_up()
        term.proc.wait(30)
        if stop == "ctrl-c":  # make waits for tools/sim.py, which waits for its children
            assert term.closed(10)
            assert "simulator and server stopped" in term.text()
            assert_none_left(out)
        else:  # make exits at once on SIGHUP; tools/sim.py still stops both, bounded
            assert_none_left(out, within=15)
    finally:
        term.close()
