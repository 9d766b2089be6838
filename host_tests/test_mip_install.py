"""``mip install`` of package.json into the MicroPython unix port, from 127.0.0.1 only.

A user installs devicepair as a library with ``mip``; package.json must bring everything the
package needs, the ``ssd1306`` OLED driver included (manifest.py requires it for frozen
builds; package.json names it in "deps", which mip resolves through its package index).
The test serves a copy of the checkout (package.json + lib/) and a local mirror shaped like
micropython-lib's index - ``/package/<mpy>/ssd1306/latest.json`` naming a file by hash under
``/file/`` - from one HTTP server on 127.0.0.1, runs the unix port's own frozen ``mip`` into
an empty target directory, then imports devicepair and ssd1306 from there in a fresh
interpreter and draws a pairing screen on the installed driver. The mirrored ssd1306 is a
stand-in (host_tests/support/ssd1306_standin.py: no copy of the real driver is available
offline), compiled to .mpy as the real index serves it.
"""

import functools
import hashlib
import http.server
import json
import os
import shutil
import subprocess
import threading

import pytest

from conftest import ROOT, micropython_bin, mpy_cross_bin

SUPPORT = os.path.join(ROOT, "host_tests", "support")


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, fmt, *args):
        self.server.seen.append(self.path)


@pytest.fixture
def index(tmp_path):
    """(base URL, list of requested paths) for a served checkout copy and ssd1306 mirror."""
    www = tmp_path / "www"
    shutil.copytree(os.path.join(ROOT, "lib", "devicepair"), www / "lib" / "devicepair",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(os.path.join(ROOT, "package.json"), www / "package.json")
    mpy = tmp_path / "ssd1306.mpy"
    subprocess.run([mpy_cross_bin(), "-O3", "-s", "ssd1306.py", "-o", str(mpy),
                    os.path.join(SUPPORT, "ssd1306_standin.py")], check=True)
    data = mpy.read_bytes()
    h = hashlib.sha256(data).hexdigest()[:8]  # mip's short hash: 8 hex digits of SHA-256
    (www / "mirror" / "file" / h[:2]).mkdir(parents=True)
    (www / "mirror" / "file" / h[:2] / h).write_bytes(data)
    ver = subprocess.run([micropython_bin(), "-c",
                          "import sys; print(sys.implementation._mpy & 0xff)"],
                         capture_output=True, text=True, timeout=30, check=True).stdout.strip()
    pkg = www / "mirror" / "package" / ver / "ssd1306"
    pkg.mkdir(parents=True)
    (pkg / "latest.json").write_text(json.dumps({"hashes": [["ssd1306.mpy", h]],
                                                 "version": "0.1.0"}))
    srv = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Handler, directory=str(www)))
    srv.seen = []
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield "http://127.0.0.1:%d" % srv.server_address[1], srv.seen
    finally:
        srv.shutdown()
        srv.server_close()


_INSTALL = """
import mip
mip.install(%r, index=%r, target=%r)
"""

_USE = """
import devicepair, ssd1306
from devicepair.parts import find_oled
from devicepair.screen_oled import OledScreen


class Bus:  # an I2C bus with one SSD1306 at 0x3C
    frames = []

    def scan(self):
        return [0x3C]

    def writeto(self, addr, data):
        pass

    def writevto(self, addr, parts):
        self.frames.append(b"".join(parts))


bus = Bus()
oled, note = find_oled(bus, ssd1306)
scr = OledScreen(oled, 128, 64)
scr.pairing("BCDF-GHJK", "https://example.com/device",
            "https://example.com/device?user_code=BCDF-GHJK", 900)
frame = bus.frames[-1]
print("FROM", devicepair.__file__, ssd1306.__file__)
print("FRAME", len(frame), len([b for b in frame if b]) > 100, note)
"""


def test_mip_installs_the_package_and_its_ssd1306_dependency(index, tmp_path):
    base, seen = index
    target = tmp_path / "board-lib"
    target.mkdir()
    run = tmp_path / "cwd"
    run.mkdir()  # no devicepair here: imports must come from the target
    p = subprocess.run([micropython_bin(), "-c", _INSTALL % (base + "/package.json",
                                                             base + "/mirror", str(target))],
                       capture_output=True, text=True, timeout=120, cwd=str(run))
    assert p.returncode == 0 and "Done" in p.stdout, p.stdout + p.stderr
    with open(os.path.join(ROOT, "package.json")) as f:
        urls = json.load(f)["urls"]
    assert sorted(os.listdir(target / "devicepair")) == sorted(
        os.path.basename(t) for t, _ in urls)
    assert os.listdir(target) and (target / "ssd1306.mpy").is_file()
    assert any(s.endswith("/ssd1306/latest.json") for s in seen), seen  # through the index
    env = dict(os.environ, MICROPYPATH=str(target))
    p = subprocess.run([micropython_bin(), "-X", "heapsize=160K", "-c", _USE],
                       capture_output=True, text=True, timeout=60, cwd=str(run), env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    lines = p.stdout.split("\n")
    assert lines[0] == "FROM %s/devicepair/__init__.py %s/ssd1306.mpy" % (target, target), \
        p.stdout
    assert lines[1] == "FRAME 1025 True None", p.stdout  # 0x40 + the 1 KB frame, no note
