"""boards/sim.py under the real MicroPython: its PNG encoder (checked by Pillow and zlib on
CPython), the stdin button through devicepair.button.Button, and the simulated Wi-Fi through
devicepair.wifi.WiFi. Each test runs one small MicroPython script; real time only for the
button presses themselves (about 5 s in all) and a 1 s Wi-Fi drop.
"""

import os
import random
import subprocess
import zlib

import pytest

from conftest import LIB, ROOT, micropython_bin

BOARDS = os.path.join(ROOT, "boards")


def run_mp(tmp_path, script, stdin=b"", timeout=60, env=None):
    path = tmp_path / "script.py"
    path.write_text(script)
    e = dict(os.environ)
    e["MICROPYPATH"] = BOARDS + ":" + LIB + ":.frozen"
    e.update(env or {})
    p = subprocess.run([micropython_bin(), "-X", "heapsize=160K", str(path)], input=stdin,
                       capture_output=True, timeout=timeout, cwd=tmp_path, env=e)
    out = p.stdout.decode() + p.stderr.decode()
    assert p.returncode == 0, out
    return out


def lit(buf, x, y):
    return (buf[(y >> 3) * 128 + x] >> (y & 7)) & 1


@pytest.mark.parametrize("scale,border", [(1, 0), (2, 1), (3, 2), (4, 4), (5, 3)])
def test_png_is_the_framebuffer(tmp_path, scale, border):
    from PIL import Image

    rng = random.Random(scale * 10 + border)
    frames = [bytes(1024), bytes([255]) * 1024, bytes(rng.randrange(256) for _ in range(1024)),
              bytes(rng.choice((0, 0, 0, 1, 0x80, 0xFF)) for _ in range(1024))]
    for i, fr in enumerate(frames):
        (tmp_path / ("f%d.bin" % i)).write_bytes(fr)
    run_mp(tmp_path, """
import sim
for i in range(%d):
    buf = open("f%%d.bin" %% i, "rb").read()
    sim.write_png("f%%d.png" %% i, buf, scale=%d, border=%d)
""" % (len(frames), scale, border))
    for i, fr in enumerate(frames):
        png = (tmp_path / ("f%d.png" % i)).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        idat, pos = b"", 8
        while pos < len(png):  # every chunk's CRC, and the zlib stream with its adler32
            n = int.from_bytes(png[pos:pos + 4], "big")
            kind, data = png[pos + 4:pos + 8], png[pos + 8:pos + 8 + n]
            assert zlib.crc32(kind + data) == int.from_bytes(png[pos + 8 + n:pos + 12 + n], "big")
            if kind == b"IDAT":
                idat += data
            pos += 12 + n
        assert kind == b"IEND"
        raw = zlib.decompress(idat)
        w, h = (128 + 2 * border) * scale, (64 + 2 * border) * scale
        assert len(raw) == h * (1 + (w + 7) // 8)
        im = Image.open(tmp_path / ("f%d.png" % i))
        assert im.size == (w, h) and im.mode == "P"
        px = im.convert("L").load()
        for y in range(h):
            for x in range(w):
                sx, sy = x // scale - border, y // scale - border
                on = 0 <= sx < 128 and 0 <= sy < 64 and lit(fr, sx, sy)
                assert (px[x, y] > 128) == bool(on), (i, x, y)


def test_deflate_runs_and_lengths(tmp_path):
    # every run length 1..600 (all length codes, the 258 cap, tails of 1-2 after a cap)
    run_mp(tmp_path, """
import sim
parts = []
z = sim._Deflate(parts.append)
for n in range(1, 601):
    z.feed(n % 7, n)
    z.feed(200)
z.finish()
open("z.bin", "wb").write(b"".join(parts))
""")
    want = b"".join(bytes([n % 7]) * n + b"\xc8" for n in range(1, 601))
    got = (tmp_path / "z.bin").read_bytes()
    assert zlib.decompress(got) == want
    assert len(got) < len(want) // 20


def test_stdin_button_drives_the_real_button(tmp_path):
    # "" short, "d" double, "l" long (3.2 s), each through Button's debounce/long logic
    out = run_mp(tmp_path, """
import time, sim
from devicepair.button import Button
from devicepair.clock import SystemClock
b = Button(sim.SimButton(), SystemClock())
t0 = time.ticks_ms()
events = []
while len(events) < 3 and time.ticks_diff(time.ticks_ms(), t0) < 15000:
    ev = b.poll()
    if ev:
        events.append(ev)
    time.sleep_ms(20)
print("EVENTS", " ".join(events))
""", stdin=b"\nd\nl\n")
    assert "EVENTS short double long" in out


def test_sim_wifi_modes(tmp_path):
    out = run_mp(tmp_path, """
import time, sim
from devicepair.wifi import WiFi
from devicepair.clock import SystemClock
nets = [{"ssid": "SimNet", "password": "simulated"}]
def run(spec, ms, nets=nets):
    w = sim.SimWLAN(spec)
    seen = []
    wifi = WiFi(w, nets, SystemClock(), sim.SimNetwork, seen.append, backoff_ms=60000)
    t0 = time.ticks_ms()
    while time.ticks_diff(time.ticks_ms(), t0) < ms:
        wifi.step()
        time.sleep_ms(20)
    print(spec, "|", wifi.connected, "|", " / ".join(seen))
run("ok,delay:100", 400)
run("wrong_password,delay:0", 300)
run("no_ap,delay:0", 300)
run("ok,delay:0", 300, [{"ssid": "Elsewhere", "password": ""}])
run("drop_after:1,delay:0", 2600)
""")
    lines = dict(ln.split(" | ", 1) for ln in out.splitlines() if " | " in ln)
    assert lines["ok,delay:100"] == \
        "True | Wi-Fi: connecting to SimNet (1/1) / Wi-Fi: connected 10.0.42.2"
    assert lines["wrong_password,delay:0"].startswith(
        "False | Wi-Fi: connecting to SimNet (1/1) / Wi-Fi: wrong password for SimNet")
    assert "Wi-Fi: SimNet not found" in lines["no_ap,delay:0"]
    assert "Wi-Fi: Elsewhere not found" in lines["ok,delay:0"]
    drop = lines["drop_after:1,delay:0"]
    assert drop.startswith("True |") and "link lost" in drop and drop.count("connected 10.") == 2
