#!/usr/bin/env python3
"""``make sim`` / ``make demo``: the firmware on the simulator board against the local server.

    python tools/sim.py sim  [--fresh] [--screen auto|ansi|art|off] [--wifi SPEC] [--heap 224K]
    python tools/sim.py demo [--timeout 60] [--shots docs/img]
    (both: [--http] [--picow])

Both start tools/authserver.py over HTTPS (state in sim-out/authserver.sqlite3; its
localhost certificate from a CA made on the first run and kept in sim-out/tls/), write
sim-out/flash/config.json and ca.der for it with tools/provision.py (``--ca-pem``, as a user
does), compile lib/ as deploy ships it (tools/build.py) into sim-out/mp/ next to
boards/sim.py as ``board.py``, and run firmware/main.py under the MicroPython unix port with
``-X heapsize=224K`` (160K on the Pico W stand-in) and sim-out/flash as the current directory: the
board verifies the server's certificate as it would a provider's. ``--http`` is plain HTTP
on 127.0.0.1 (debugging); ``--picow`` runs the Pico W stand-in (tools/build.py board_bin).

``sim`` is interactive: press Enter for a short button press, ``l`` Enter for a long one
(unpair), ``d`` Enter for a double press; approve in a browser; Ctrl-C stops everything.
Tokens and the server's db are kept between runs (``--fresh`` starts over). ``demo`` is the
same, headless: the server approves after 2 s, the button is pressed for you, and it exits 0
once the board says "Paired as ...", printing the screens it went through (1 with the reason
on timeout, denial, expiry or a crash). ``demo --shots DIR`` also copies the PNGs of the
ready, pairing (code and QR pages) and paired screens to DIR: the pictures in docs/img come
from there. The classes here (AuthServer, Simulator) are also what host_tests/test_e2e_sim.py
uses. Every child runs in its own process group and is killed with it.
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.append(ROOT)
from tools import build  # noqa: E402  (the one .mpy builder and tool finder)

# A Pico W has ~166-192 KB of GC heap. The Pico W stand-in (--picow, 32-bit, TLS in the heap)
# runs at PICOW_HEAP; the PyPI unix port is 64-bit (8-byte pointers and object slots: about a
# third more heap for the same firmware, TLS outside it), so it gets HEAP.
HEAP = "224K"
PICOW_HEAP = "160K"
CLIENT_ID = "devicepair-sim"
WIFI = [{"ssid": "SimNet", "password": "simulated"}]


def micropython():
    return build.micropython_bin()


def stop_group(proc, timeout=5):
    """SIGTERM the child's whole process group, then SIGKILL; always reaps it."""
    if proc is None or proc.returncode is not None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout)
            return
        except subprocess.TimeoutExpired:
            continue


def build_mp(dest):
    """lib/ compiled as deploy ships it (tools/build.py, -O3) plus the sim board as board.mpy."""
    return build.build_board_tree(dest, os.path.join(ROOT, "boards", "sim.py"))


def ensure_tls(out):
    """``out``/tls: a CA made on the first run and kept (ca.pem, ca.key.pem), and an RSA-2048
    certificate for localhost signed by it (localhost.pem, localhost.key.pem): what the local
    authorization server serves, so the board verifies TLS as it would against a provider.
    Returns {"ca": ca.pem, "cert": ..., "key": ...}. Keys are written owner-only."""
    import trustme

    d = os.path.join(out, "tls")
    paths = {k: os.path.join(d, f) for k, f in (("ca", "ca.pem"), ("ca_key", "ca.key.pem"),
                                                 ("cert", "localhost.pem"),
                                                 ("key", "localhost.key.pem"))}
    os.makedirs(d, exist_ok=True)
    rsa = trustme.KeyType.RSA
    if os.path.exists(paths["ca"]) and os.path.exists(paths["ca_key"]):
        with open(paths["ca"], "rb") as c, open(paths["ca_key"], "rb") as k:
            ca = trustme.CA.from_pem(c.read(), k.read())
    else:
        ca = trustme.CA(organization_name="devicepair simulator CA", key_type=rsa)
        _write_private(paths["ca_key"], ca.private_key_pem.bytes())
        ca.cert_pem.write_to_path(paths["ca"])
        for k in ("cert", "key"):  # a new CA: the old server certificate is worthless
            if os.path.exists(paths[k]):
                os.remove(paths[k])
    if not (os.path.exists(paths["cert"]) and os.path.exists(paths["key"])):
        leaf = ca.issue_cert("localhost", "127.0.0.1", key_type=rsa)
        _write_private(paths["key"], leaf.private_key_pem.bytes())
        with open(paths["cert"], "wb") as f:
            for blob in leaf.cert_chain_pems:
                f.write(blob.bytes())
    return paths


def _write_private(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def write_config(flash, base_url, ca_pem=None, **extra):
    """flash/config.json for the generic provider at ``base_url``, written by
    tools/provision.py as a user writes it: with ``ca_pem`` (https) provision converts the CA
    to flash/ca.der and names it in ``ca_file``; without, http:// on loopback is allowed.
    ``extra`` endpoints replace the defaults; other ``extra`` keys are added to the file as
    they are. Returns the config as written."""
    from tools import provision

    ep = {"device_authorization_endpoint": base_url + "/device_authorization",
          "token_endpoint": base_url + "/token", "userinfo_endpoint": base_url + "/userinfo"}
    ep.update((k, v) for k, v in extra.items() if k in ep)
    more = {k: v for k, v in extra.items() if k not in ep}  # keys provision has no flag for
    argv = ["--out", os.path.join(flash, "config.json"), "--provider", "generic",
            "--client-id", CLIENT_ID, "--hostname", "devicepair-sim"]
    argv += ["--wifi=%s:%s" % (w["ssid"], w["password"]) for w in WIFI]
    for k, v in ep.items():
        argv += ["--" + k.replace("_", "-"), v]
    argv += ["--ca-pem", ca_pem] if ca_pem else ["--allow-insecure-http"]
    os.makedirs(flash, exist_ok=True)
    import contextlib
    import io

    said = io.StringIO()
    with contextlib.redirect_stdout(said), contextlib.redirect_stderr(said):
        code = provision.main(argv, stdin=io.StringIO())
    if code != 0:
        raise RuntimeError("provision refused the simulator's config: " + said.getvalue())
    path = os.path.join(flash, "config.json")
    with open(path) as f:
        cfg = json.load(f)
    if more:  # the board checks them at boot, as it checks everything in config.json
        cfg.update(more)
        with open(path, "w") as f:
            json.dump(cfg, f, indent=2)
    return cfg


class AuthServer:
    """tools/authserver.py on 127.0.0.1, a free port; ``url`` once it listens."""

    def __init__(self, db, args=(), log_path=None, timeout=20, tls=None):
        self.log_path = log_path or db + ".log"
        self._log = open(self.log_path, "w")
        if tls:  # ensure_tls's paths: serve HTTPS for localhost
            args = ["--tls-cert", tls["cert"], "--tls-key", tls["key"]] + list(args)
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "tools", "authserver.py"), "--port", "0",
             "--db", db] + list(args), stdout=subprocess.PIPE, stderr=self._log, text=True,
            cwd=ROOT, start_new_session=True)
        try:
            line = _readline(self.proc.stdout, timeout)
            m = re.match(r"^authserver listening on (http://127\.0\.0\.1:\d+|"
                         r"https://localhost:\d+)$", line.strip())
            if not m:
                raise RuntimeError("authserver did not start: %r\n%s" % (line, self.log()))
            self.url = m.group(1)
        except BaseException:
            self.stop()
            raise

    def log(self):
        with open(self.log_path) as f:
            return f.read()

    def stop(self):
        stop_group(self.proc)
        self.proc.stdout.close()
        self._log.close()


def _readline(stream, timeout):
    import selectors

    sel = selectors.DefaultSelector()
    sel.register(stream, selectors.EVENT_READ)
    try:
        if not sel.select(timeout):
            return ""
    finally:
        sel.close()
    return stream.readline()


class Simulator:
    """firmware/main.py under MicroPython with the sim board; stdout is collected as lines.

    ``press("")`` short, ``press("l")`` long, ``press("d")`` double. ``wait_for(regex)``
    waits for a serial line; ``screen()`` is the raw 1 KB framebuffer, or None before the
    first frame. With ``passthrough`` the child writes straight to this terminal instead.
    ``on_line(line)`` is called from the reader thread for each line, then with None at EOF.
    """

    def __init__(self, mp, flash, out, heap=HEAP, env=None, screen="off", passthrough=False,
                 on_line=None, exe=None):
        self.out = out
        self.lines = []
        self._cond = threading.Condition()
        os.makedirs(out, exist_ok=True)
        for fn in os.listdir(out):
            if fn.startswith("screen") and (fn.endswith(".png") or fn.endswith(".bin")):
                os.remove(os.path.join(out, fn))
        e = dict(os.environ)
        # the flash folder is on the path as on a board: a task module copied there imports
        e.update({"MICROPYPATH": mp + ":" + os.path.abspath(flash) + ":.frozen",
                  "DEVICEPAIR_SIM_OUT": os.path.abspath(out), "DEVICEPAIR_SIM_SCREEN": screen,
                  "DEVICEPAIR_SIM_STDIN_EOF": "exit"})
        e.update(env or {})
        self.proc = subprocess.Popen(
            [exe or micropython(), "-X", "heapsize=" + heap,
             os.path.join(ROOT, "firmware", "main.py")],
            cwd=flash, env=e, stdin=subprocess.PIPE,
            stdout=None if passthrough else subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True)
        self._on_line = on_line
        self._reader = None
        if not passthrough:
            self._reader = threading.Thread(target=self._read, daemon=True)
            self._reader.start()

    def _read(self):
        for raw in iter(self.proc.stdout.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self._cond:
                self.lines.append(line)
                self._cond.notify_all()
            if self._on_line is not None:
                self._on_line(line)
        if self._on_line is not None:
            self._on_line(None)  # end of output: the firmware has exited
        with self._cond:
            self._cond.notify_all()

    def press(self, kind=""):
        self.proc.stdin.write(kind.encode() + b"\n")
        self.proc.stdin.flush()

    def wait_for(self, pattern, timeout, start=0):
        """The first serial line from index ``start`` matching ``pattern`` (re.search);
        raises TimeoutError with the log tail."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        i = start
        with self._cond:
            while True:
                while i < len(self.lines):
                    if rx.search(self.lines[i]):
                        return self.lines[i]
                    i += 1
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and self._reader is not None
                                 and not self._reader.is_alive()):
                    raise TimeoutError("no line matching %r; log tail:\n%s"
                                       % (pattern, "\n".join(self.lines[-40:])))
                self._cond.wait(min(left, 0.5))

    def screen(self):
        try:
            with open(os.path.join(self.out, "screen.bin"), "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None

    def pngs(self):
        """The PNG of every frame so far, oldest first."""
        names = [n for n in os.listdir(self.out) if re.match(r"^screen-\d+\.png$", n)]
        return [os.path.join(self.out, n) for n in sorted(names, key=lambda n: int(n[7:-4]))]

    def stop(self):
        stop_group(self.proc)
        if self.proc.stdin:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
        if self._reader is not None:
            self._reader.join(5)
        if self.proc.stdout:
            self.proc.stdout.close()


# -- text art for make demo -------------------------------------------------------------------
_HALF = {" ": (0, 0), "\u2580": (1, 0), "\u2584": (0, 1), "\u2588": (1, 1)}

# demo --shots: (mark, file in DIR); docs/img holds these, from `tools/sim.py demo --shots`
SHOTS = (("idle", "sim-idle.png"), ("code", "sim-pairing-code.png"),
         ("qr", "sim-pairing-qr.png"), ("paired", "sim-paired.png"))


def parse_art(lines):
    """The board's framed half-block art (34 lines) back to a 64x128 pixel tuple."""
    px = []
    for ln in lines[1:-1]:
        body = ln[1:-1]
        px.append(tuple(_HALF.get(c, (0, 0))[0] for c in body))
        px.append(tuple(_HALF.get(c, (0, 0))[1] for c in body))
    return tuple(px)


def _diff(a, b):
    return sum(x != y for ra, rb in zip(a, b) for x, y in zip(ra, rb))


def _is_qr_page(px):
    # the 128x64 QR page: a 64 px QR code on the left, about half of its pixels lit
    return sum(sum(row[:64]) for row in px) > 1024


class _Demo:
    """Follows the firmware's output for ``make demo``. Serial lines go through; a frame is
    printed when it differs by more than a countdown step from every frame already printed (a
    page seen again, or a new second, is not repeated). It notes the board's state, its last
    error, how it ended (``result``) and which frame showed each screen of SHOTS: the frame on
    the OLED when the firmware logs the step that follows that screen."""

    def __init__(self):
        self.frames = []
        self._art = None
        self._art_no = 0
        self._cond = threading.Condition()
        self.frame = 0  # the number of the last complete frame (its PNG: screen-NNN.png)
        self.state = self.error = self.name = ""
        self.result = None  # "paired", "denied", "expired" or "exited"
        self.idles = 0  # times the board entered its idle state ("Press button to pair")
        self.marks = {}

    def on_line(self, line):
        with self._cond:
            try:
                self._line(line)
            finally:
                self._cond.notify_all()

    def wait_until(self, pred, deadline):
        """pred() under the lock, waiting for output until it holds or the deadline passes."""
        with self._cond:
            while not pred():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def _line(self, line):
        if line is None:
            self.result = self.result or "exited"
            return
        if self._art is not None:
            # 34 lines: the top border, 32 rows, the bottom one. Anything else means the art
            # was cut short (a crash while printing it): drop it and read the line as a line.
            if line.startswith("\u250c" if not self._art else "\u2502") and len(self._art) < 33:
                self._art.append(line)
                return
            if line.startswith("\u2514") and len(self._art) == 33:
                self._art.append(line)
                self._frame()
                return
            self._art = None
        m = re.match(r"^\[sim\] screen (\d+)$", line)
        if m:
            self._art, self._art_no = [], int(m.group(1))
            return
        print(line, flush=True)
        msg = line.split("] ", 1)[-1]
        if msg.startswith("state: "):
            self.state = msg[7:]
            if self.state == "idle":
                self.idles += 1
            elif self.state == "start":
                self.marks.setdefault("idle", self.frame)
            elif self.state in ("denied", "expired"):
                self.result = self.result or self.state
        elif msg.startswith("error: "):
            self.error = msg[7:]
        elif msg.startswith("crash #"):
            self.error = msg
        elif msg.startswith("pairing: open "):
            self.marks.setdefault("code", self.frame)
        elif msg.startswith("paired as "):
            self.marks["paired"] = self.frame
            self.name = msg[10:]
            self.result = self.result or "paired"

    def _frame(self):
        art, self._art = self._art, None
        px = parse_art(art)
        self.frame = self._art_no
        if all(_diff(px, f) > 100 for f in self.frames):
            self.frames.append(px)
            print("\n".join(art), flush=True)
        if "code" in self.marks and "qr" not in self.marks and self.state == "polling" \
                and _is_qr_page(px):
            self.marks["qr"] = self.frame

    def why(self, timeout, code):
        if self.result == "exited":
            what = "the firmware exited (code %s) before it was paired" % code
        elif self.result:
            what = "the board says %s instead of \"Paired as ...\"" % self.result
        else:
            what = "the board did not say \"Paired as ...\" within %g s" % timeout
        return "%s (last state: %s; last error: %s)" % (what, self.state or "none",
                                                       self.error or "none")


# -- the commands ---------------------------------------------------------------------------
# firmware/examples/<name>.py as the board's task, and the task_args it gets in the simulator
EXAMPLE_ARGS = {"post_reading": {"url": "{base}/api/readings", "every_s": 10},
                "survive_revoke": {"url": "{base}/api/readings", "every_s": 5},
                "show_value": {"url": "{base}/userinfo", "field": "preferred_username",
                               "label": "Login", "every_s": 10}}


def task_config(name, base_url, flash):
    """Compile firmware/examples/<name>.py onto the simulated flash as <name>.mpy (what
    ``make deploy TASK=...`` does on a board) -> the config.json keys that run it."""
    src = os.path.join(ROOT, "firmware", "examples", name + ".py")
    if not os.path.exists(src):
        raise RuntimeError("no example %s (firmware/examples: %s)" % (name, ", ".join(
            sorted(f[:-3] for f in os.listdir(os.path.dirname(src)) if f.endswith(".py")))))
    build.compile_file(src, os.path.join(flash, name + ".mpy"), name + ".py", opt=build.OPT)
    args = {}
    for k, v in EXAMPLE_ARGS.get(name, {}).items():
        args[k] = v.replace("{base}", base_url) if isinstance(v, str) else v
    return {"task": name, "task_args": args}


def _setup(out, fresh, server_args, http=False, task=None):
    flash = os.path.join(out, "flash")
    db = os.path.join(out, "authserver.sqlite3")
    if fresh:
        for p in (os.path.join(flash, "tokens.json"), os.path.join(flash, "tokens.json.tmp"),
                  os.path.join(flash, "pairing.json"), os.path.join(flash, "pairing.json.tmp"),
                  db, db + ".key.pem"):
            if os.path.exists(p):
                os.remove(p)
    os.makedirs(flash, exist_ok=True)
    print("building %s (mpy-cross lib/ + boards/sim.py as board)..."
          % os.path.join(_rel(out), "mp"), flush=True)
    mp = build_mp(os.path.join(out, "mp"))
    tls = None if http else ensure_tls(out)
    srv = AuthServer(db, server_args, os.path.join(out, "authserver.log"), tls=tls)
    write_config(flash, srv.url, ca_pem=tls and tls["ca"],
                 **(task_config(task, srv.url, flash) if task else {}))
    if tls:
        print("TLS: the server's CA is %s (made on the first run); the board got it as "
              "%s through tools/provision.py" % (_rel(tls["ca"]),
                                                 _rel(os.path.join(flash, "ca.der"))),
              flush=True)
    return srv, mp, flash


def _interpreter(a):
    """The MicroPython binary to run: $MICROPYTHON / the venv's, or the Pico W stand-in."""
    if not a.picow:
        return micropython()
    exe, why = build.board_bin("picow")
    if exe is None:
        raise RuntimeError("--picow: " + why)
    return exe


def _rel(path):
    r = os.path.relpath(path)
    return path if r.startswith("..") else r


# What can go wrong before the firmware runs: a missing tool, mpy-cross, the server's start.
_START_ERRORS = (OSError, RuntimeError, subprocess.CalledProcessError)


def _failed(cmd, msg):
    print("%s: FAILED: %s" % (cmd, msg), file=sys.stderr, flush=True)
    return 1


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _on_signal(signum, frame):
    # Ctrl-C, kill, or a closed terminal: stop. The first one is enough, and a second one
    # must not cut the clean-up short (orphaning a child): a second Ctrl-C, or the SIGHUP a
    # closed terminal sends again when make exits (make does not wait for its job on SIGHUP).
    # So all three are ignored from here on; stopping is bounded (stop_group).
    for s in _STOP_SIGNALS:
        signal.signal(s, signal.SIG_IGN)
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise SystemExit(128 + signum)


def _stop(sim, srv):
    # No signal may interrupt this (see _on_signal): ignored until both children are gone.
    old = [(s, signal.signal(s, signal.SIG_IGN)) for s in _STOP_SIGNALS]
    try:
        if sim is not None:
            sim.stop()
        if srv is not None:
            srv.stop()
    finally:
        for s, handler in old:
            signal.signal(s, handler)


def _terminal_mode(requested):
    if requested != "auto":
        return requested
    if not sys.stdout.isatty():
        return "off"
    size = shutil.get_terminal_size((80, 24))
    if size.columns < 130 or size.lines < 44:
        print("(terminal %dx%d is too small to draw the OLED: 130x44 needed; the screens are "
              "in sim-out/screen-*.png)" % (size.columns, size.lines))
        return "off"
    return "ansi"


def cmd_sim(a):
    out = os.path.abspath(a.out)
    srv = sim = None
    mode = _terminal_mode(a.screen)
    try:
        try:
            exe = _interpreter(a)
            srv, mp, flash = _setup(out, a.fresh, ["--interval", "1"], a.http, a.task)
        except _START_ERRORS as e:
            return _failed("sim", "could not start: %s" % e)
        if mode == "ansi":  # the board draws on rows 1-34; the log scrolls from row 35 down
            sys.stdout.write("\x1b[2J\x1b[35r\x1b[35;1H")
        print("authorization server: %s (log: %s)"
              % (srv.url, os.path.join(_rel(out), "authserver.log")))
        print("verification page:    %s/device  (sign in as demo / demo)" % srv.url)
        print("button: Enter = short press, l Enter = long press (unpair), d Enter = double; "
              "Ctrl-C quits", flush=True)
        env = {"DEVICEPAIR_SIM_WIFI": a.wifi} if a.wifi else {}
        try:
            sim = Simulator(mp, flash, out, a.heap, env, mode, passthrough=True, exe=exe)
        except OSError as e:
            return _failed("sim", "could not start micropython: %s" % e)
        t = threading.Thread(target=_forward, args=(sim,), daemon=True)
        t.start()
        return sim.proc.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        _stop(sim, srv)
        try:
            if mode == "ansi":
                sys.stdout.write("\x1b[r\x1b[999;1H\n")
            print("simulator and server stopped; screens in %s/" % _rel(out), flush=True)
        except OSError:  # the terminal is gone (closed window)
            pass


def _forward(sim, fd=0):
    # Terminal lines -> the sim's stdin (its button); ends with EOF or a dead child. os.read,
    # not sys.stdin: a daemon thread blocked in sys.stdin's buffer can hang the exit.
    buf = b""
    while True:
        try:
            data = os.read(fd, 256)
        except OSError:
            return
        if not data:
            return
        buf += data
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            try:
                sim.press(line.decode("utf-8", "replace").strip())
            except (ValueError, OSError):
                return


def cmd_demo(a):
    out = os.path.abspath(a.out)
    srv = sim = None
    demo = _Demo()
    # --shots waits for the QR page before approving: page 2 comes 5 s into the pairing
    approve = 8 if a.shots else 2
    try:
        try:
            exe = _interpreter(a)
            srv, mp, flash = _setup(out, True, ["--interval", "1", "--auto-approve",
                                                str(approve)], a.http, a.task)
            print("authorization server: %s (approves every code after %d s)"
                  % (srv.url, approve), flush=True)
            deadline = time.monotonic() + a.timeout
            print("board: %s -X heapsize=%s" % (_rel(exe), a.heap), flush=True)
            sim = Simulator(mp, flash, out, a.heap, {}, "art", on_line=demo.on_line, exe=exe)
        except _START_ERRORS as e:
            return _failed("demo", "could not start: %s" % e)
        presses = 0  # press whenever the board is idle: again after a crash and restart
        while demo.wait_until(lambda n=presses: demo.result or demo.idles > n, deadline) \
                and not demo.result:
            presses += 1
            try:
                sim.press()
            except OSError:
                pass  # the firmware is gone: result says so
        if demo.result != "paired":
            code = None
            if demo.result == "exited":
                try:
                    code = sim.proc.wait(5)
                except subprocess.TimeoutExpired:
                    pass
            return _failed("demo", demo.why(a.timeout, code) +
                           "; screens and the server's log are in %s/" % _rel(out))
        print("demo: OK, the board is paired as %s" % demo.name, flush=True)
        return _save_shots(demo, out, a.shots) if a.shots else 0
    except KeyboardInterrupt:
        return 130
    finally:
        _stop(sim, srv)


def _save_shots(demo, out, dest):
    missing = [k for k, _ in SHOTS if k not in demo.marks]
    if missing:
        return _failed("demo", "no frame showed the %s screen" % " or ".join(missing))
    os.makedirs(dest, exist_ok=True)
    for key, name in SHOTS:
        src = os.path.join(out, "screen-%03d.png" % demo.marks[key])
        shutil.copyfile(src, os.path.join(dest, name))
        print("demo: %s -> %s" % (_rel(src), _rel(os.path.join(dest, name))), flush=True)
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("command", choices=("sim", "demo"))
    p.add_argument("--out", default=os.path.join(ROOT, "sim-out"))
    p.add_argument("--heap", help="MicroPython -X heapsize (default %s; %s with --picow)"
                   % (HEAP, PICOW_HEAP))
    p.add_argument("--fresh", action="store_true", help="sim: forget tokens and server state")
    p.add_argument("--screen", default="auto", choices=("auto", "ansi", "art", "off"))
    p.add_argument("--wifi", default="", help='sim: DEVICEPAIR_SIM_WIFI, e.g. "drop_after:30"')
    p.add_argument("--task", metavar="EXAMPLE", help="run firmware/examples/EXAMPLE.py as "
                   "the board's task (post_reading, show_value, survive_revoke)")
    p.add_argument("--timeout", type=float, default=60, help="demo: seconds before failing")
    p.add_argument("--http", action="store_true", help="plain HTTP instead of HTTPS "
                   "(debugging: the wire in clear text)")
    p.add_argument("--picow", action="store_true", help="run the board on the Pico W stand-in "
                   "(../shared/mp32/bin/micropython-u32gc or $MICROPYTHON_PICOW: 32-bit, TLS "
                   "in the heap)")
    p.add_argument("--shots", metavar="DIR", help="demo: copy the ready, pairing (code, QR) "
                   "and paired screens' PNGs to DIR (docs/img)")
    a = p.parse_args(argv)
    a.heap = a.heap or (PICOW_HEAP if a.picow else HEAP)
    for s in _STOP_SIGNALS:
        signal.signal(s, _on_signal)
    return cmd_sim(a) if a.command == "sim" else cmd_demo(a)


if __name__ == "__main__":
    sys.exit(main())
