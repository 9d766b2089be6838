"""Host tools: deploy.py, flash.py, provision.py, check_packaging.py (CPython only).

The deploy test uses a virtual board: socat joins a pty (the "serial port") to the MicroPython
unix port running host_tests/support/deploy_vboard.py, which re-mounts a temp directory as the
board's "/" and sets sys.path to the ESP32 one ['', '.frozen', '/lib']. mpremote then drives
its real raw REPL, exactly as over USB. Every mpremote call uses `resume`: without it mpremote
soft-resets (Ctrl-D in the raw REPL), which makes the unix port exit, and the pty goes away
(mpremote then fails with EIO). Nothing here touches a real serial device or the network
beyond 127.0.0.1; esptool is replaced by a recording stand-in.
"""

import fcntl
import http.server
import json
import os
import select
import shutil
import signal
import ssl
import stat
import subprocess
import sys
import termios
import threading
import time

import pytest

from conftest import ROOT, micropython_bin

TOOLS = os.path.join(ROOT, "tools")
if TOOLS not in sys.path:
    sys.path.append(TOOLS)  # last: tools/ must not shadow anything the other tests import

import check_packaging  # noqa: E402
import deploy  # noqa: E402
import flash  # noqa: E402
import provision  # noqa: E402

PY = sys.executable
BIN = os.path.dirname(sys.executable)
MPREMOTE = deploy.find_tool("mpremote", "MPREMOTE")
VBOOT = os.path.join(ROOT, "host_tests", "support", "deploy_vboard.py")
LIB_PKG = os.path.join(ROOT, "lib", "devicepair")
VERSION = check_packaging.version()
MODULES = sorted(f[:-3] for f in os.listdir(LIB_PKG) if f.endswith(".py"))


def tool(name, *args, cwd=None, env=None, stdin=subprocess.DEVNULL, timeout=60):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([PY, os.path.join(TOOLS, name)] + list(args), cwd=cwd, env=e,
                          stdin=stdin, capture_output=True, text=True, timeout=timeout)


def commands(stdout):
    return [ln for ln in stdout.splitlines() if ln and not ln.startswith("#")]


# ---------------------------------------------------------------------------------------
# virtual board: socat pty <-> MicroPython unix port
# ---------------------------------------------------------------------------------------

class VirtualBoard:
    """A pty at ``port`` with the MicroPython REPL behind it; ``root`` is its filesystem."""

    def __init__(self, tmp):
        self.root = os.path.join(str(tmp), "board")
        os.makedirs(self.root)
        self.port = os.path.join(str(tmp), "ttyVB")
        self.log = os.path.join(str(tmp), "socat.log")
        self.proc = None

    def start(self):
        mp = micropython_bin()
        for p in (mp, VBOOT, self.port):  # socat's address syntax: no quoting needed then
            if set(p) & set(" ,:!\"'\\()[]{}"):
                pytest.skip("path unusable in a socat address: " + p)
        env = {k: v for k, v in os.environ.items() if k != "MICROPYPATH"}
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                ["socat", "PTY,link=%s,raw,echo=0" % self.port,
                 "EXEC:%s -i %s,pty,raw,echo=0,setsid,ctty,stderr" % (mp, VBOOT)],
                cwd=self.root, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                start_new_session=True)
        deadline = time.monotonic() + 10
        while not os.path.exists(self.port):  # socat makes the link once the pty exists
            if self.proc.poll() is not None or time.monotonic() > deadline:
                with open(self.log) as f:
                    raise RuntimeError("socat did not start: " + f.read())
            time.sleep(0.01)
        # Input written before the REPL reads it stays queued in the pty (the unix port
        # switches the terminal to raw with TCSANOW, no flush), so no wait for a banner.
        r = self.mpremote("exec", "print('vboard', 6 * 7)", timeout=20)
        assert r.returncode == 0 and "vboard 42" in r.stdout, r.stdout + r.stderr

    def mpremote(self, *args, timeout=30):
        return subprocess.run([MPREMOTE, "connect", self.port, "resume"] + list(args),
                              capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)

    def _children(self):
        pid = self.proc.pid
        try:
            with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
                return [int(x) for x in f.read().split()]
        except OSError:
            return []

    def stop(self):
        if self.proc is None:
            return
        kids = self._children()
        if self.proc.poll() is None:
            self.proc.terminate()  # closes the pty master: the interpreter gets SIGHUP
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        for pid in kids:  # the interpreter, in its own session (socat's setsid)
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    break
                for _ in range(100):
                    if not os.path.exists("/proc/%d" % pid) or _zombie(pid):
                        break
                    time.sleep(0.01)
        self.proc = None


def _zombie(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


@pytest.fixture
def vboard(tmp_path):
    if not shutil.which("socat"):
        pytest.skip("socat not installed (apt-get install socat)")
    vb = VirtualBoard(tmp_path)
    try:
        vb.start()
        yield vb
    finally:
        vb.stop()


def test_deploy_to_virtual_board(vboard, tmp_path):
    r = tool("deploy.py", "--port", vboard.port, "--no-ssd1306",
             "--build-dir", str(tmp_path / "build"), cwd=str(tmp_path))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "mip install" not in r.stdout
    last = r.stdout.strip().splitlines()[-1].split()  # deploy: copied N files, B bytes, to P
    n_files = len(MODULES) + len([f for f in os.listdir(os.path.join(ROOT, "firmware"))
                                  if f.endswith(".py")])
    assert last[:3] == ["deploy:", "copied", str(n_files)] and last[-2:] == ["to", vboard.port]
    assert int(last[4]) > 10000  # bytes

    r = vboard.mpremote("exec", "import devicepair; print(devicepair.__version__); "
                        "print(devicepair.__file__); import devicepair.config")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [VERSION, "/lib/devicepair/__init__.mpy"]

    r = vboard.mpremote("fs", "ls", ":/lib/devicepair")
    assert r.returncode == 0, r.stderr
    listed = sorted(ln.split()[-1] for ln in r.stdout.splitlines()[1:])
    assert listed == sorted(m + ".mpy" for m in MODULES)
    # boot.py and main.py stay source at the root; nothing escaped to the host's real /lib
    on_board = os.listdir(vboard.root)
    for name in os.listdir(os.path.join(ROOT, "firmware")):
        if name in ("boot.py", "main.py"):
            assert name in on_board
    assert not os.path.exists("/lib/devicepair")


def test_redeploy_removes_stale_files_and_keeps_ssd1306(vboard, tmp_path):
    pkg = os.path.join(vboard.root, "lib", "devicepair")
    os.makedirs(pkg)
    for name, data in (("http.py", "raise ImportError('stale source shadows http.mpy')\n"),
                       ("obsolete.mpy", "x"), ("notes.txt", "kept")):
        with open(os.path.join(pkg, name), "w") as f:
            f.write(data)
    with open(os.path.join(vboard.root, "lib", "ssd1306.py"), "w") as f:
        f.write("class SSD1306_I2C:\n    pass\n")
    cfg, _ = _provision_files(tmp_path)
    build = str(tmp_path / "build")
    # The /dev/pts/N name itself this time: mpremote recognises it as a pty and reads it
    # blocking instead of polling with 10 ms sleeps (about twice as fast; the test above
    # covers the serial-port code path through the symlink).
    pts = os.path.realpath(vboard.port)
    assert pts.startswith("/dev/pts/")
    args = ["--port", pts, "--board", "esp32", "--config", cfg, "--build-dir", build]

    r = tool("deploy.py", *args, cwd=str(tmp_path))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ssd1306 driver already in /lib" in r.stdout and "mip install" not in r.stdout
    assert "fs rm :/lib/devicepair/http.py + fs rm :/lib/devicepair/obsolete.mpy" in r.stdout
    left = sorted(os.listdir(pkg))
    assert left == sorted([m + ".mpy" for m in MODULES] + ["notes.txt"])
    with open(os.path.join(vboard.root, "config.json")) as f, open(cfg) as g:
        assert f.read() == g.read()
    with open(os.path.join(vboard.root, "ca.der"), "rb") as f:
        assert f.read()[:1] == b"\x30"
    r = vboard.mpremote("exec", "import board, devicepair.http; print(board.NAME)")
    assert r.returncode == 0 and r.stdout.strip() == "ESP32 DevKit", r.stdout + r.stderr

    # Again: nothing to create or remove, every file already up to date.
    r = tool("deploy.py", *args, cwd=str(tmp_path))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "fs mkdir" not in r.stdout and "fs rm" not in r.stdout
    last = r.stdout.splitlines()[-1]
    assert last.startswith("deploy: copied 0 files, 0 bytes, to " + pts + "; ")
    assert last.endswith(" files already up to date") and int(last.split()[-6]) > len(MODULES)


def test_provision_copies_to_virtual_board(vboard, tmp_path):
    out = str(tmp_path / "cfg" / "config.json")
    r = tool("provision.py", "--port", vboard.port, "--out", out, *_flags(tmp_path, ca=True))
    assert r.returncode == 0, r.stdout + r.stderr
    with open(os.path.join(vboard.root, "config.json"), "rb") as f, open(out, "rb") as g:
        assert f.read() == g.read()
    assert os.path.getsize(os.path.join(vboard.root, "ca.der")) > 100
    _assert_no_secret(r)


# ---------------------------------------------------------------------------------------
# deploy.py without a board
# ---------------------------------------------------------------------------------------

def _tree(tmp_path):
    files = {"lib/devicepair/__init__.py": "__version__ = '9'\n",
             "lib/devicepair/sub/x.py": "X = 1\n", "lib/other.py": "O = 1\n",
             "firmware/boot.py": "", "firmware/main.py": "import board\n",
             "firmware/helper.py": "H = 1\n", "firmware/config.example.json": "{}",
             "boards/esp32.py": "NAME = 'x'\n"}
    for rel, text in files.items():
        p = tmp_path / "src" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    src = tmp_path / "src"
    return ["--lib", str(src / "lib"), "--firmware", str(src / "firmware"),
            "--boards", str(src / "boards")]


def test_deploy_dry_run_commands_and_remote_paths(tmp_path):
    cfg, ca = _provision_files(tmp_path)
    build = tmp_path / "build"
    r = tool("deploy.py", "--port", "/dev/ttyUSB0", "--dry-run", "--arch", "esp32s3",
             "--board", "esp32", "--config", cfg, "--build-dir", str(build), *_tree(tmp_path),
             cwd=str(tmp_path), env={"MPREMOTE": "mpremote", "MPY_CROSS": "mpy-cross"})
    assert r.returncode == 0, r.stderr
    assert not build.exists()  # a dry run compiles nothing
    cmds = commands(r.stdout)
    cross = [c for c in cmds if c.startswith("mpy-cross ")]
    assert cross == [
        "mpy-cross -O3 -march=xtensawin -s other.py -o build/lib/other.mpy src/lib/other.py",
        "mpy-cross -O3 -march=xtensawin -s devicepair/__init__.py -o "
        "build/lib/devicepair/__init__.mpy src/lib/devicepair/__init__.py",
        "mpy-cross -O3 -march=xtensawin -s devicepair/sub/x.py -o "
        "build/lib/devicepair/sub/x.mpy src/lib/devicepair/sub/x.py",
        "mpy-cross -O3 -march=xtensawin -s helper.py -o build/fw/helper.mpy "
        "src/firmware/helper.py",
    ]
    board = [c[len("mpremote connect /dev/ttyUSB0 resume "):] for c in cmds
             if not c.startswith("mpy-cross ")]
    assert len(board) == len(cmds) - len(cross)
    assert board[0].startswith("exec 'import os;") and '"/lib/devicepair/sub"]' in board[0]
    assert board[1:] == [
        "fs mkdir :/lib + fs mkdir :/lib/devicepair + fs mkdir :/lib/devicepair/sub",
        "fs cp build/lib/other.mpy :/lib/",
        "fs cp build/lib/devicepair/__init__.mpy :/lib/devicepair/",
        "fs cp build/lib/devicepair/sub/x.mpy :/lib/devicepair/sub/",
        "mip install ssd1306",
        "fs cp build/fw/helper.mpy :/helper.mpy + fs cp src/boards/esp32.py :/board.py + "
        "fs cp cfg/config.json :/config.json + fs cp cfg/ca.der :/ca.der + "
        "fs cp src/firmware/boot.py :/boot.py + fs cp src/firmware/main.py :/main.py",
    ]
    assert ca.endswith("cfg/ca.der")
    assert "# dry run: 9 files would be copied to /dev/ttyUSB0" in r.stdout


@pytest.mark.parametrize("arch,march", [("esp32", "xtensawin"), ("esp32c3", "rv32imc"),
                                        ("picow", "armv6m"), ("armv7m", "armv7m"),
                                        (None, None)])
def test_deploy_dry_run_arch(tmp_path, arch, march):
    args = ["--port", "P", "--dry-run", "--no-ssd1306", "--build-dir", str(tmp_path / "b")]
    r = tool("deploy.py", *(args + (["--arch", arch] if arch else [])), *_tree(tmp_path),
             cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    cross = [c for c in commands(r.stdout) if " -O3 " in c]
    assert len(cross) == 4
    for c in cross:
        assert ("-march=" + march in c) if march else ("-march" not in c)
    assert "mip install" not in r.stdout


def test_deploy_dry_run_real_tree_maps_every_module(tmp_path):
    r = tool("deploy.py", "--port", "/dev/ttyACM0", "--dry-run", "--build-dir",
             str(tmp_path / "b"), cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    cp = [c for c in commands(r.stdout) if c.endswith(" :/lib/devicepair/")][0]
    sent = sorted(os.path.basename(a) for a in cp.split()[6:-1])
    assert sent == sorted(m + ".mpy" for m in MODULES)
    assert "fs cp %s :/main.py" % os.path.join(ROOT, "firmware", "main.py") in r.stdout
    assert "examples" not in r.stdout  # examples go to a board only when named as a task


def test_deploy_dry_run_copies_the_named_task(tmp_path):
    ex = os.path.join(ROOT, "firmware", "examples", "post_reading.py")
    r = tool("deploy.py", "--port", "P", "--dry-run", "--no-ssd1306", "--build-dir",
             str(tmp_path / "b"), "--task", ex, cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert ":/post_reading.mpy" in r.stdout and "show_value" not in r.stdout
    r = tool("deploy.py", "--port", "P", "--dry-run", "--task", "nope.txt", cwd=str(tmp_path))
    assert r.returncode == 2 and "--task nope.txt: not a .py file" in r.stderr


def test_deploy_refuses_bad_arguments(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"wifi": [{"ssid": "x", "password": "short"}], "client_id": "c"}))
    r = tool("deploy.py", "--port", "P", "--dry-run", "--config", str(bad))
    assert r.returncode == 2
    assert "config: wifi[0].password must be 8-63 characters" in r.stderr
    assert "mpremote" not in r.stdout
    r = tool("deploy.py", "--port", "P", "--dry-run", "--board", "nosuchboard")
    assert r.returncode == 2 and "esp32" in r.stderr  # lists the boards there are
    r = tool("deploy.py", "--port", "P", "--dry-run", "--arch", "z80")
    assert r.returncode == 2 and "unknown --arch" in r.stderr
    cfg = tmp_path / "c" / "config.json"
    cfg.parent.mkdir()
    cfg.write_text(json.dumps(dict(_valid_config(), ca_file="ca.der")))
    r = tool("deploy.py", "--port", "P", "--dry-run", "--config", str(cfg))
    assert r.returncode == 2 and "ca.der" in r.stderr and "does not exist" in r.stderr


def test_deploy_stops_on_a_compile_error_before_touching_the_board(tmp_path):
    args = _tree(tmp_path)
    (tmp_path / "src" / "lib" / "devicepair" / "broken.py").write_text("def f(:\n")
    r = tool("deploy.py", "--port", str(tmp_path / "no-port"), "--no-ssd1306", "--build-dir",
             str(tmp_path / "b"), *args, cwd=str(tmp_path))
    assert r.returncode == 1
    assert "mpy-cross failed" in r.stderr and "SyntaxError" in r.stderr
    assert "mpremote" not in r.stdout + r.stderr


def test_board_steps_from_a_probe():
    plan = deploy.make_plan(os.path.join(ROOT, "lib"), "/nonexistent", "b")
    names = [m + ".mpy" for m in MODULES]
    out = "banner\n%r\n" % {"/": ["lib/", "boot.py"], "/lib": ["devicepair/", "ssd1306.mpy"],
                             "/lib/devicepair": ["http.py", "old.mpy", "keep.txt"] + names}
    listing = deploy.parse_probe(out)
    assert listing["/lib"] == ["devicepair/", "ssd1306.mpy"]
    steps = deploy.board_steps(plan, listing, ssd1306=False,
                               lib_pkgs=["/lib/devicepair"])
    assert steps[0] == ["fs", "rm", ":/lib/devicepair/http.py", "+", "fs", "rm",
                        ":/lib/devicepair/old.mpy"]
    assert steps[1][:2] == ["fs", "cp"] and steps[1][-1] == ":/lib/devicepair/"
    assert len(steps) == 2  # no mkdir: every directory is there
    steps = deploy.board_steps(plan, {"/": [], "/lib": None},
                               ssd1306=True, lib_pkgs=["/lib/devicepair"])
    assert steps[0] == ["fs", "mkdir", ":/lib", "+", "fs", "mkdir", ":/lib/devicepair"]
    assert steps[-1] == ["mip", "install", "ssd1306"]


# ---------------------------------------------------------------------------------------
# flash.py
# ---------------------------------------------------------------------------------------

FLASH_ENV = {"ESPTOOL": "esptool"}


@pytest.mark.parametrize("board,offset", [("esp32", "0x1000"), ("esp32s3", "0x0"),
                                          ("esp32c3", "0x0")])
def test_flash_dry_run_exact_commands(board, offset):
    fw = "ESP32_GENERIC-v1.25.0.bin"
    r = tool("flash.py", "--board", board, "--port", "/dev/ttyUSB0", "--firmware", fw,
             "--dry-run", env=FLASH_ENV)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "esptool --chip %s --port /dev/ttyUSB0 erase-flash" % board,
        "esptool --chip %s --port /dev/ttyUSB0 --baud 460800 write-flash -z %s %s"
        % (board, offset, fw),
    ]


def test_flash_dry_run_baud_and_quoting():
    r = tool("flash.py", "--board", "esp32", "--port", "/dev/ttyACM0", "--firmware",
             "my fw.bin", "--baud", "921600", "--dry-run", env=FLASH_ENV)
    assert r.stdout.splitlines()[1] == (
        "esptool --chip esp32 --port /dev/ttyACM0 --baud 921600 write-flash -z 0x1000 "
        "'my fw.bin'")


def test_flash_picow_prints_uf2_steps_without_esptool(tmp_path):
    log = _fake_esptool(tmp_path)
    for extra in (["--dry-run"], []):
        uf2 = tmp_path / "RPI_PICO_W.uf2"
        uf2.write_bytes(_uf2(flash.RP2040_FAMILY))
        r = tool("flash.py", "--board", "picow", "--firmware", str(uf2), *extra,
                 env={"ESPTOOL": str(tmp_path / "esptool")})
        assert r.returncode == 0, r.stderr
        for words in ("BOOTSEL", "RPI-RP2", "cp %s /media/$USER/RPI-RP2/" % uf2):
            assert words in r.stdout
        assert "esptool --" not in r.stdout
    assert not os.path.exists(log)


@pytest.mark.parametrize("board,fw,words", [
    ("esp32", "fw.uf2", ["fw.uf2 is a .uf2 file", "esptool", ".uf2 files are for the Pico W"]),
    ("esp32c3", "fw.hex", ["fw.hex is not a .bin image"]),
    ("picow", "fw.bin", ["fw.bin is a .bin image", "Pico W takes a .uf2 file"]),
    ("picow", "fw.elf", ["fw.elf is not a .uf2 file"]),
])
def test_flash_refuses_wrong_file_type_even_on_dry_run(board, fw, words):
    r = tool("flash.py", "--board", board, "--port", "P", "--firmware", fw, "--dry-run",
             env=FLASH_ENV)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith("flash: refused: ")
    for w in words:
        assert w in r.stderr


def test_flash_refuses_missing_and_wrong_images(tmp_path):
    r = tool("flash.py", "--board", "esp32", "--firmware", "x.bin", "--dry-run", env=FLASH_ENV)
    assert r.returncode == 2 and "--port is required for esp32" in r.stderr
    r = tool("flash.py", "--board", "esp32", "--port", "P", "--firmware",
             str(tmp_path / "nope.bin"), env=FLASH_ENV)
    assert r.returncode == 2 and "does not exist" in r.stderr
    assert "micropython.org/download/ESP32_GENERIC/" in r.stderr
    s3 = tmp_path / "s3.bin"
    s3.write_bytes(_esp_image(9))
    r = tool("flash.py", "--board", "esp32", "--port", "P", "--firmware", str(s3), "--dry-run",
             env=FLASH_ENV)
    assert r.returncode == 2 and "is an image for esp32s3, not esp32" in r.stderr
    junk = tmp_path / "page.bin"
    junk.write_bytes(b"<html>not found</html>" * 4)
    assert "not an ESP firmware image" in flash.check_firmware("esp32c3", str(junk))
    renamed = tmp_path / "renamed.bin"
    renamed.write_bytes(_uf2(flash.RP2040_FAMILY))
    assert "UF2 file renamed to .bin" in flash.check_firmware("esp32", str(renamed))
    pico2 = tmp_path / "pico2.uf2"
    pico2.write_bytes(_uf2(0xE48BFF59))
    assert "another chip" in flash.check_firmware("picow", str(pico2))
    notuf2 = tmp_path / "x.uf2"
    notuf2.write_bytes(b"\0" * 600)
    assert "no UF2 header" in flash.check_firmware("picow", str(notuf2))
    for board, chip in (("esp32", 0), ("esp32s3", 9), ("esp32c3", 5)):
        ok = tmp_path / (board + ".bin")
        ok.write_bytes(_esp_image(chip))
        assert flash.check_firmware(board, str(ok)) is None
    assert flash.check_firmware("picow", str(tmp_path / "RPI_PICO_W.uf2"),
                                must_exist=False) is None


def test_flash_runs_esptool_erase_then_write_and_stops_on_failure(tmp_path):
    log = _fake_esptool(tmp_path)
    fw = tmp_path / "c3.bin"
    fw.write_bytes(_esp_image(5))
    env = {"ESPTOOL": str(tmp_path / "esptool")}
    r = tool("flash.py", "--board", "esp32c3", "--port", "/tmp/no-such-port", "--firmware",
             str(fw), env=env)
    assert r.returncode == 0, r.stderr
    with open(log) as f:
        calls = [json.loads(ln) for ln in f]
    assert calls == [
        ["--chip", "esp32c3", "--port", "/tmp/no-such-port", "erase-flash"],
        ["--chip", "esp32c3", "--port", "/tmp/no-such-port", "--baud", "460800", "write-flash",
         "-z", "0x0", str(fw)],
    ]
    os.remove(log)
    r = tool("flash.py", "--board", "esp32c3", "--port", "/tmp/no-such-port", "--firmware",
             str(fw), env=dict(env, FAKE_RC="3"))
    assert r.returncode == 3 and "hold BOOT" in r.stderr
    with open(log) as f:
        assert len(f.readlines()) == 1  # nothing written after a failed erase


def test_esptool_accepts_the_v5_spelling():
    exe = os.path.join(BIN, "esptool")
    if not os.path.exists(exe):
        pytest.skip("esptool not in the venv")
    for sub in ("erase-flash", "write-flash"):
        r = subprocess.run([exe, sub, "--help"], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and "Usage: esptool " + sub in r.stdout


def _esp_image(chip_id):
    head = bytes([0xE9, 3, 2, 0x20]) + b"\0" * 4 + b"\xee\0\0\0" + chip_id.to_bytes(2, "little")
    return head + b"\0" * 200


def _uf2(family):
    import struct

    block = struct.pack("<IIIIIIII", 0x0A324655, 0x9E5D5157, 0x2000, 0x10000000, 256, 0, 1,
                        family)
    return block + b"\0" * (512 - len(block))


def _fake_esptool(tmp_path):
    log = str(tmp_path / "esptool.log")
    exe = tmp_path / "esptool"
    exe.write_text("#!%s\nimport json, os, sys\nwith open(%r, 'a') as f:\n"
                   "    f.write(json.dumps(sys.argv[1:]) + '\\n')\n"
                   "sys.exit(int(os.environ.get('FAKE_RC', '0')))\n" % (PY, log))
    exe.chmod(0o755)
    return log


# ---------------------------------------------------------------------------------------
# provision.py
# ---------------------------------------------------------------------------------------

WIFI_PW = "correct horse battery"
SECRET = "GOCSPX-very-secret-value"


def _valid_config():
    return {"wifi": [{"ssid": "HomeNet", "password": WIFI_PW}], "provider": "auth0",
            "domain": "me.eu.auth0.com", "client_id": "abc123"}


def _ca_pem(tmp_path, n=1):
    import trustme

    pem = b"".join(trustme.CA().cert_pem.bytes() for _ in range(n))
    p = tmp_path / ("ca%d.pem" % n)
    p.write_bytes(pem)
    return str(p)


def _flags(tmp_path, ca=False):
    f = ["--wifi", "HomeNet:" + WIFI_PW, "--wifi", "Phone:", "--provider", "google",
         "--client-id", "abc.apps.googleusercontent.com", "--client-secret", SECRET,
         "--param", "audience=https://api.example.com", "--country", "de"]
    return f + (["--ca-pem", _ca_pem(tmp_path)] if ca else [])


def _provision_files(tmp_path):
    """A valid config.json + ca.der in tmp/cfg, written by provision.py itself."""
    out = str(tmp_path / "cfg" / "config.json")
    r = tool("provision.py", "--out", out, *_flags(tmp_path, ca=True), cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    return out, str(tmp_path / "cfg" / "ca.der")


def _assert_no_secret(r):
    for s in (WIFI_PW, SECRET):
        assert s not in r.stdout and s not in r.stderr


def test_provision_flags_to_config_json(tmp_path):
    out = tmp_path / "config.json"
    r = tool("provision.py", "--out", str(out), *_flags(tmp_path), "--scope", "openid email",
             "--api-url", "https://api.example.com/me", "--hostname", "kitchen")
    assert r.returncode == 0, r.stderr
    assert json.loads(out.read_text("utf-8")) == {
        "wifi": [{"ssid": "HomeNet", "password": WIFI_PW}, {"ssid": "Phone", "password": ""}],
        "hostname": "kitchen", "country": "de", "provider": "google",
        "client_id": "abc.apps.googleusercontent.com", "client_secret": SECRET,
        "scope": "openid email", "extra_params": {"audience": "https://api.example.com"},
        "api_url": "https://api.example.com/me",
    }
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    _assert_no_secret(r)
    assert provision.MASK in r.stdout and '"ssid": "HomeNet"' in r.stdout


def test_provision_never_echoes_stray_words():
    r = tool("provision.py", "--dry-run", "--wifi", "Home:correct", "horse", "battery")
    assert r.returncode == 2 and "not shown" in r.stderr
    assert "horse" not in r.stderr and "battery" not in r.stderr


def test_provision_wifi_spec_parsing():
    assert provision.parse_wifi("a:b:c") == {"ssid": "a", "password": "b:c"}
    assert provision.parse_wifi(r"x\:y:pw") == {"ssid": "x:y", "password": "pw"}
    assert provision.parse_wifi("Cafe:") == {"ssid": "Cafe", "password": ""}
    assert provision.parse_wifi("Cafe") == {"ssid": "Cafe"}


@pytest.mark.parametrize("flags,message,code", [
    (["--wifi", "Home:short", "--client-id", "c", "--provider", "auth0", "--domain", "x.io"],
     "config: wifi[0].password must be 8-63 characters", 1),
    (["--wifi", "Home:" + WIFI_PW, "--client-id", "c", "--provider", "nosuch"],
     'config: provider "nosuch" is unknown', 1),
    (["--wifi", "Home:" + WIFI_PW, "--client-id", "c", "--device-authorization-endpoint",
      "http://idp.example.com/d", "--token-endpoint", "https://i/t", "--userinfo-endpoint",
      "https://i/u"], "config: device_authorization_endpoint", 1),
    (["--wifi", "Home:" + WIFI_PW, "--client-id", "c", "--provider", "auth0", "--domain",
      "x.io", "--param", "client_id=evil"], "config: extra_params.client_id is set by", 1),
    (["--wifi", "Home:" + WIFI_PW, "--param", "novalue"], "--param wants KEY=VALUE", 2),
])
def test_provision_refuses_invalid_config_without_writing(tmp_path, flags, message, code):
    out = tmp_path / "config.json"
    r = tool("provision.py", "--out", str(out), *flags)
    assert r.returncode == code, r.stdout + r.stderr
    assert message in r.stderr
    assert not out.exists() and os.listdir(tmp_path) == []
    _assert_no_secret(r)


def test_provision_non_tty_names_every_missing_field(tmp_path):
    r = tool("provision.py", "--out", str(tmp_path / "c.json"), "--client-id", "c")
    assert r.returncode == 2
    for field in ("wifi (--wifi SSID:PASSWORD)", "device_authorization_endpoint (--issuer URL",
                  "token_endpoint (--issuer URL"):
        assert field in r.stderr
    assert "client_id" not in r.stderr and "userinfo_endpoint" not in r.stderr  # optional
    r = tool("provision.py", "--out", str(tmp_path / "c.json"), "--wifi", "Home",
             "--client-id", "c", "--provider", "auth0")
    assert r.returncode == 2 and "wifi[0].password" in r.stderr and "domain (--domain" in \
        r.stderr
    assert os.listdir(tmp_path) == []


def test_provision_ca_pem_becomes_der(tmp_path):
    out = tmp_path / "cfg" / "config.json"
    pem = _ca_pem(tmp_path)
    r = tool("provision.py", "--out", str(out), *_flags(tmp_path), "--ca-pem", pem)
    assert r.returncode == 0, r.stderr
    with open(pem) as f:
        want = ssl.PEM_cert_to_DER_cert(f.read())
    assert (tmp_path / "cfg" / "ca.der").read_bytes() == want
    assert json.loads(out.read_text())["ca_file"] == "ca.der"
    assert stat.S_IMODE(os.stat(tmp_path / "cfg" / "ca.der").st_mode) == 0o600
    # a bundle and a second file: every root kept (rotation), as concatenated DER
    out2 = tmp_path / "b" / "config.json"
    bundle = _ca_pem(tmp_path, 2)
    r = tool("provision.py", "--out", str(out2), *_flags(tmp_path), "--ca-pem", bundle,
             "--ca-pem", pem)
    assert r.returncode == 0 and "3 certificates as DER" in r.stdout, r.stderr
    assert (tmp_path / "b" / "ca.der").read_bytes() == b"".join(
        [ssl.PEM_cert_to_DER_cert(p) for p in _pem_blocks(bundle)] + [want])
    # a broken PEM among them: nothing written at all
    bad = tmp_path / "bad.pem"
    bad.write_text("-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n")
    out3 = tmp_path / "c" / "config.json"
    r = tool("provision.py", "--out", str(out3), *_flags(tmp_path), "--ca-pem", pem,
             "--ca-pem", str(bad))
    assert r.returncode == 2 and "base64" in r.stderr
    assert not (tmp_path / "c").exists()


def _pem_blocks(path):
    with open(path) as f:
        text = f.read()
    end = "-----END CERTIFICATE-----"
    return [b.strip() + "\n" + end + "\n" for b in text.split(end) if "BEGIN" in b]


def test_provision_dry_run_writes_nothing_and_prints_copy(tmp_path):
    r = tool("provision.py", "--dry-run", "--port", "/dev/ttyUSB0", *_flags(tmp_path, ca=True),
             cwd=str(tmp_path), env={"MPREMOTE": "mpremote"})
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(tmp_path)) == ["ca1.pem"]
    assert r.stdout.splitlines()[-1] == ("mpremote connect /dev/ttyUSB0 resume fs cp config.json"
                                         " :/config.json + fs cp ca.der :/ca.der")
    assert "would write config.json" in r.stdout
    _assert_no_secret(r)


class _Discovery(http.server.BaseHTTPRequestHandler):
    issuer_override = None

    def do_GET(self):
        base = "http://127.0.0.1:%d" % self.server.server_port
        iss = base + "/realms/dev"
        if self.path != "/realms/dev/.well-known/openid-configuration":
            self.send_error(404)
            return
        doc = {"issuer": self.server.issuer_override or iss,
               "device_authorization_endpoint": iss + "/device",
               "token_endpoint": iss + "/token", "userinfo_endpoint": iss + "/userinfo",
               "jwks_uri": iss + "/certs"}
        body = json.dumps(doc).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


@pytest.fixture
def discovery_server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Discovery)
    srv.issuer_override = None
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        t.join(5)


def test_provision_issuer_discovery_on_the_host(tmp_path, discovery_server):
    iss = "http://127.0.0.1:%d/realms/dev" % discovery_server.server_port
    out = tmp_path / "config.json"
    base = ["--wifi", "Home:" + WIFI_PW, "--client-id", "dev", "--allow-insecure-http"]
    r = tool("provision.py", "--out", str(out), "--issuer", iss, *base)
    assert r.returncode == 0, r.stderr
    d = json.loads(out.read_text())
    assert (d["issuer"], d["device_authorization_endpoint"], d["token_endpoint"],
            d["userinfo_endpoint"], d["allow_insecure_http"]) == (
        iss, iss + "/device", iss + "/token", iss + "/userinfo", True)
    assert "jwks_uri" not in d
    # an explicit endpoint flag wins over the discovered one
    r = tool("provision.py", "--out", str(out), "--issuer", iss + "/", *base,
             "--userinfo-endpoint", "http://127.0.0.1:1/me")
    assert r.returncode == 0, r.stderr
    assert json.loads(out.read_text())["userinfo_endpoint"] == "http://127.0.0.1:1/me"
    # a document for another issuer is refused, nothing written
    discovery_server.issuer_override = "https://evil.example.com"
    out.unlink()
    r = tool("provision.py", "--out", str(out), "--issuer", iss, *base)
    assert r.returncode == 1 and "issuer mismatch" in r.stderr and not out.exists()


def test_provision_prompts_on_a_terminal(tmp_path, discovery_server):
    iss = "http://127.0.0.1:%d/realms/dev" % discovery_server.server_port
    out = tmp_path / "config.json"
    argv = [PY, os.path.join(TOOLS, "provision.py"), "--out", str(out), "--client-id", "dev",
            "--allow-insecure-http"]
    answers = [("SSID): ", "Home Net\n"), ("Wi-Fi password for Home Net", WIFI_PW + "\n"),
               ("OpenID issuer URL", iss + "\n")]
    rc, text = _run_on_tty(argv, answers, str(tmp_path))
    assert rc == 0, text
    assert WIFI_PW not in text  # getpass: no echo, and the echo of the file is masked
    assert provision.MASK in text
    d = json.loads(out.read_text())
    assert d["wifi"] == [{"ssid": "Home Net", "password": WIFI_PW}]
    assert d["token_endpoint"] == iss + "/token"


def _run_on_tty(argv, answers, cwd, timeout=30):
    """Run ``argv`` with a new pty as its controlling terminal; answer prompts in order."""
    master, slave = os.openpty()

    def make_ctty():
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    p = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, cwd=cwd,
                         preexec_fn=make_ctty, close_fds=True)
    os.close(slave)
    out, seen = b"", 0
    pending = list(answers)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                out += chunk
                if pending and pending[0][0].encode() in out[seen:]:
                    seen = len(out)
                    os.write(master, pending.pop(0)[1].encode())
            elif p.poll() is not None:
                break
        rc = p.wait(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(5)
        os.close(master)
    assert not pending, "prompts not seen: %r\n%s" % (pending, out.decode(errors="replace"))
    return rc, out.decode("utf-8", "replace")


def test_provision_validate_matches_board_code():
    d = _valid_config()
    assert provision.validate(d).client_id == "abc123"
    d["wifi"][0]["password"] = "x"
    with pytest.raises(Exception) as e:
        provision.validate(d)
    assert type(e.value).__name__ == "ConfigError" and e.value.field == "wifi[0].password"


# ---------------------------------------------------------------------------------------
# packaging
# ---------------------------------------------------------------------------------------

def test_check_packaging_passes_on_the_repo():
    r = tool("check_packaging.py")
    assert r.returncode == 0, r.stderr
    assert "(%d modules, version %s)" % (len(MODULES), VERSION) in r.stdout


def test_check_packaging_catches_drift_and_write_fixes_it(tmp_path):
    root = tmp_path / "repo"
    shutil.copytree(LIB_PKG, root / "lib" / "devicepair",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for f in ("package.json", "manifest.py"):
        shutil.copy(os.path.join(ROOT, f), root / f)
    assert check_packaging.check(str(root)) == []
    (root / "lib" / "devicepair" / "newmod.py").write_text("X = 1\n")
    init = root / "lib" / "devicepair" / "__init__.py"
    init.write_text(init.read_text().replace(VERSION, "9.9.9"))
    problems = check_packaging.check(str(root))
    assert "package.json lacks devicepair/newmod.py" in problems
    assert "package.json version %r != __version__ '9.9.9'" % VERSION in problems
    assert "manifest.py metadata version %r != __version__ '9.9.9'" % VERSION in problems
    (root / "lib" / "devicepair" / "clock.py").unlink()
    assert "package.json lists devicepair/clock.py, which is not in lib/" in \
        check_packaging.check(str(root))
    pj = json.loads((root / "package.json").read_text())
    assert pj["deps"] == [["ssd1306", "latest"]]  # mip install pulls the OLED driver
    del pj["deps"]
    (root / "package.json").write_text(json.dumps(pj))
    assert 'package.json "deps" lacks ssd1306 (manifest.py requires it)' in \
        check_packaging.check(str(root))
    r = tool("check_packaging.py", "--write", "--root", str(root))
    assert r.returncode == 0, r.stderr
    assert check_packaging.check(str(root)) == []
    assert 'version="9.9.9"' in (root / "manifest.py").read_text()
    pj = json.loads((root / "package.json").read_text())
    assert ["devicepair/newmod.py", "lib/devicepair/newmod.py"] in pj["urls"]
    assert pj["deps"] == [["ssd1306", "latest"]]


def test_package_json_installs_with_mpremote_mip_logic(tmp_path, monkeypatch):
    """mpremote's own mip code, offline, with a recording transport: every lib/devicepair
    module lands in /lib/devicepair with the repo's content (relative URLs resolve), and the
    ssd1306 dependency is asked of the index (recorded here, not fetched: see
    test_mip_install.py for a real install from a local index)."""
    from mpremote import mip

    deps = []
    monkeypatch.setattr(mip, "_install_package", lambda t, *a: deps.append(a))

    class Transport:
        def __init__(self):
            self.files, self.dirs = {}, set()

        def fs_exists(self, p):
            return p in self.dirs

        def fs_mkdir(self, p):
            self.dirs.add(p)

        def fs_writefile(self, p, data, progress_callback=None):
            self.files[p] = data

    t = Transport()
    mip._install_json(t, os.path.join(ROOT, "package.json"), "https://unused.invalid", "/lib",
                      None, False)
    assert sorted(t.files) == ["/lib/devicepair/%s.py" % m for m in MODULES]
    with open(os.path.join(LIB_PKG, "__init__.py"), "rb") as f:
        assert t.files["/lib/devicepair/__init__.py"] == f.read()
    assert "/lib/devicepair" in t.dirs
    assert deps == [("ssd1306", "https://unused.invalid", "/lib", "latest", False)]


def test_manifest_declares_package_and_driver():
    calls = check_packaging.run_manifest(os.path.join(ROOT, "manifest.py"))
    assert ("package", ("devicepair",), {"base_path": "lib", "opt": 3}) in calls
    assert ("require", ("ssd1306",), {}) in calls
    meta = [k for n, _, k in calls if n == "metadata"][0]
    assert meta["version"] == VERSION and meta["description"]


def test_every_make_target_the_readme_names_exists():
    import re

    readme = open(os.path.join(ROOT, "README.md")).read()
    makefile = open(os.path.join(ROOT, "Makefile")).read()
    # `make X` in the text, and "make X" opening a line of a shell block
    named = set(re.findall(r"`make ([a-z][a-z-]*)", readme)) | set(
        re.findall(r"^make ([a-z][a-z-]*)", readme, re.M))
    rules = set(re.findall(r"^([a-z][a-z-]*):", makefile, re.M))
    assert {"setup", "test", "sim", "demo", "bench", "login", "proxy", "bench-proxy",
            "soak", "lint", "deploy"} <= named
    assert named <= rules, sorted(named - rules)
