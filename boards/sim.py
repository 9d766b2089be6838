"""The simulator board: devicepair on the MicroPython unix port, no hardware needed.

Same ``build(cfg)`` contract as the real boards; ``tools/sim.py`` (``make sim``, ``make demo``)
copies this file as ``board.py`` and runs firmware/main.py with the flash folder as cwd.

- OLED: a 128x64 MONO_VLSB framebuf. Each change of it goes to OUT/screen.bin (the raw 1 KB,
  latest frame), OUT/screen-NNN.png (every frame) and, if asked, the terminal.
- button: stdin lines. Enter = short press (100 ms), "l" Enter = long (3.2 s), "d" Enter =
  double press.
- Wi-Fi: a WLAN with the network.WLAN methods wifi.py uses, CYW43 (Pico W) status codes.
- flash: the current directory (config.json, tokens.json). RTC: none (host clock is set).
- LED: printed only with DEVICEPAIR_SIM_VERBOSE=1.

Environment: DEVICEPAIR_SIM_OUT (default ".." when cwd is ".../flash", else "sim-out"),
DEVICEPAIR_SIM_SCREEN off|art|ansi (art prints each frame; ansi redraws it on terminal
rows 1-34, which tools/sim.py keeps free by scrolling the log below them),
DEVICEPAIR_SIM_PNG (pixel scale, 0 = no PNGs; default 4), DEVICEPAIR_SIM_VERBOSE=1 (LED and
button events), DEVICEPAIR_SIM_STDIN_EOF=exit (end when stdin closes: tools/sim.py is gone),
DEVICEPAIR_SIM_WIFI "ok" | "wrong_password" | "no_ap" | "drop_after:S", plus ",delay:MS"
(connect time, default 600). The button is a pin whose level follows scripted presses, so
the real Button debounce/long/double logic runs unchanged. PNGs are written by a small
encoder (fixed-Huffman deflate of byte runs + zlib adler32, one IDAT chunk per 256 bytes):
the unix port cannot compress, and a board-sized heap has no room for more.
"""

import os
import sys
import time

import framebuf
from binascii import crc32

NAME = "Simulator"
W, H = 128, 64
SHORT_MS, LONG_MS, GAP_MS = 100, 3200, 500


def _env(name, default=""):
    v = os.getenv("DEVICEPAIR_SIM_" + name)
    return default if v is None or v == "" else v


def _out_dir():
    d = _env("OUT", ".." if os.getcwd().endswith("/flash") else "sim-out")
    try:
        os.mkdir(d)
    except OSError:
        pass
    return d


# -- PNG ---------------------------------------------------------------------------------------
_LBASE = (3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99,
          115, 131, 163, 195, 227, 258)


class _Deflate:
    """One fixed-Huffman deflate block in a zlib stream; matches are byte runs (distance 1).
    Output goes to ``sink`` (an IDAT chunk each) every 256 bytes: a bounded buffer."""

    def __init__(self, sink):
        self.sink = sink
        self.out = bytearray(b"\x78\x01")
        self.acc = self.n = 0
        self.s1, self.s2 = 1, 0
        self.last = -1
        self.run = 0
        self._bits(3, 3)  # BFINAL=1, BTYPE=01 (fixed codes)

    def _bits(self, v, n):  # LSB first
        self.acc |= v << self.n
        self.n += n
        while self.n >= 8:
            self.out.append(self.acc & 0xFF)
            self.acc >>= 8
            self.n -= 8
        if len(self.out) >= 256:
            self.sink(self.out)
            self.out = bytearray()

    def _code(self, code, n):  # Huffman codes go MSB first
        r = 0
        for _ in range(n):
            r = (r << 1) | (code & 1)
            code >>= 1
        self._bits(r, n)

    def _sym(self, s):
        if s < 144:
            self._code(0x30 + s, 8)
        elif s < 256:
            self._code(0x190 + s - 144, 9)
        elif s < 280:
            self._code(s - 256, 7)
        else:
            self._code(0xC0 + s - 280, 8)

    def _flush(self):
        r, b = self.run, self.last
        self.run = 0
        while r >= 3:
            n = min(r, 258)
            if r - n in (1, 2):
                n -= 3  # never leave a tail of 1-2 (still >= 3 here: r >= 4)
            i = 0
            while i < 28 and _LBASE[i + 1] <= n:
                i += 1
            extra = 0 if i == 28 else max(0, (i - 4) // 4)
            self._sym(257 + i)
            if extra:
                self._bits(n - _LBASE[i], extra)
            self._code(0, 5)  # distance code 0: distance 1
            r -= n
        for _ in range(r):
            self._sym(b)

    def feed(self, b, count=1):
        """``count`` copies of byte ``b`` (uncompressed data, in order)."""
        s1 = self.s1
        self.s2 = (self.s2 + count * s1 + b * count * (count + 1) // 2) % 65521
        self.s1 = (s1 + b * count) % 65521
        if b == self.last:
            self.run += count
            return
        self._flush()
        self._sym(b)
        self.last = b
        self.run = count - 1

    def finish(self):
        self._flush()
        self._sym(256)
        if self.n:
            self._bits(0, 8 - self.n)
        self.out.extend(((self.s2 << 16) | self.s1).to_bytes(4, "big"))
        self.sink(self.out)


def _chunk(f, kind, data):
    f.write(len(data).to_bytes(4, "big"))
    f.write(kind)
    f.write(data)
    f.write((crc32(data, crc32(kind)) & 0xFFFFFFFF).to_bytes(4, "big"))


def write_png(path, buf, w=W, h=H, scale=4, border=4, lit=b"\xdc\xeb\xff", dark=b"\x08\x0a\x10"):
    """A MONO_VLSB framebuffer as a 1-bit palette PNG, each pixel scale x scale, with a dark
    ``border`` (in pixels) for the panel glass. Lit pixels are light: QR codes read normally."""
    pw, ph = (w + 2 * border) * scale, (h + 2 * border) * scale
    nb = (pw + 7) // 8
    tmp = path + ".tmp"
    f = open(tmp, "wb")
    try:
        f.write(b"\x89PNG\r\n\x1a\n")
        _chunk(f, b"IHDR", pw.to_bytes(4, "big") + ph.to_bytes(4, "big") + b"\x01\x03\0\0\0")
        _chunk(f, b"PLTE", dark + lit)
        _rows(_Deflate(lambda data: _chunk(f, b"IDAT", data)), buf, w, h, scale, border, nb)
        _chunk(f, b"IEND", b"")
    finally:
        f.close()
    os.rename(tmp, path)


def _rows(z, buf, w, h, scale, border, nb):
    row = bytearray(nb)
    pat = (1 << scale) - 1
    for y in range(-border, h + border):
        acc, n, i = 0, border * scale, 0
        while n >= 8:
            row[i] = 0
            i += 1
            n -= 8
        if 0 <= y < h:
            base, bit = (y >> 3) * w, 1 << (y & 7)
            for x in range(w):
                acc = (acc << scale) | (pat if buf[base + x] & bit else 0)
                n += scale
                while n >= 8:
                    n -= 8
                    row[i] = (acc >> n) & 0xFF
                    i += 1
                acc &= (1 << n) - 1
        acc <<= 8 - n if n else 0
        while i < nb:
            row[i] = acc & 0xFF
            acc = 0
            i += 1
        z.feed(0)  # filter None, then the row; its copies are filter Up: all zero
        for v in row:
            z.feed(v)
        for _ in range(scale - 1):
            z.feed(2)
            z.feed(0, nb)
    z.finish()


# -- the parts ---------------------------------------------------------------------------------
def art(buf, w=W, h=H):
    """The screen as text lines (a generator), two pixel rows per line in Unicode half
    blocks, framed: 34 lines of 130 characters for 128x64."""
    yield "\u250c" + "\u2500" * w + "\u2510"
    for y in range(0, h, 2):
        base, b0, b1 = (y >> 3) * w, 1 << (y & 7), 2 << (y & 7)
        s = []
        for x in range(w):
            v = buf[base + x]
            s.append(" \u2580\u2584\u2588"[(1 if v & b0 else 0) | (2 if v & b1 else 0)])
        yield "\u2502" + "".join(s) + "\u2502"
    yield "\u2514" + "\u2500" * w + "\u2518"


class SimOLED(framebuf.FrameBuffer):
    """The ssd1306 driver's API; show() publishes the frame when it changed."""

    def __init__(self, out):
        self.width, self.height = W, H
        self.buffer = bytearray(W * H // 8)
        super().__init__(self.buffer, W, H, framebuf.MONO_VLSB)
        self._out = out
        self._last = bytearray(len(self.buffer))
        self.frames = 0
        self._mode = _env("SCREEN", "off")
        self._scale = int(_env("PNG", "4"))

    def show(self):
        if self.buffer == self._last:
            return
        self._last[:] = self.buffer
        self.frames += 1
        tmp = self._out + "/screen.bin.tmp"
        with open(tmp, "wb") as f:
            f.write(self.buffer)
        if self._scale > 0:
            write_png("%s/screen-%03d.png" % (self._out, self.frames), self.buffer,
                      scale=self._scale)
        os.rename(tmp, self._out + "/screen.bin")  # last: the PNG of this frame exists
        if self._mode == "art":
            print("[sim] screen %d" % self.frames)
            for line in art(self.buffer):
                print(line)
        elif self._mode == "ansi":
            w = sys.stdout.write
            w("\x1b7")  # save the cursor (in the log area), draw at the top, restore it
            y = 1
            for line in art(self.buffer):
                w("\x1b[%d;1H" % y + line)
                y += 1
            w("\x1b8")

    def poweroff(self):
        pass

    def poweron(self):
        pass

    def contrast(self, c):
        pass

    def invert(self, v):
        pass


class SimButton:
    """A pin (active low) pressed by lines on stdin: "" short, "l" long, "d" double."""

    def __init__(self, verbose=False, exit_on_eof=False):
        import select

        self._stdin = sys.stdin
        self._poll = select.poll()
        self._poll.register(self._stdin, select.POLLIN)
        self._line = b""
        self._queue = []  # press lengths in ms, a 0 between the clicks of a double
        self._until = self._free = time.ticks_ms()
        self._down = False
        self._verbose = verbose
        self._exit_on_eof = exit_on_eof

    def _read(self):
        while self._poll is not None and self._poll.poll(0):
            b = self._stdin.buffer.read(1)
            if not b:  # EOF: nobody will press any more
                if self._exit_on_eof:  # tools/sim.py went away: do not outlive it
                    raise SystemExit(0)
                self._poll.unregister(self._stdin)
                self._poll = None
            elif b == b"\n":
                cmd = self._line.strip().lower()
                self._line = b""
                self._queue += {b"l": [LONG_MS], b"d": [SHORT_MS, 0, SHORT_MS]}.get(
                    cmd, [SHORT_MS])
                if self._verbose:
                    print("[sim] button: " + {b"l": "long", b"d": "double"}.get(cmd, "short"))
            elif len(self._line) < 16:
                self._line += b

    def value(self):
        self._read()
        now = time.ticks_ms()
        if self._down and time.ticks_diff(now, self._until) >= 0:
            self._down = False
        if not self._down and self._queue and time.ticks_diff(now, self._free) >= 0:
            ms = self._queue.pop(0)
            gap = GAP_MS
            if self._queue and self._queue[0] == 0:
                self._queue.pop(0)
                gap = 150  # the second click of a double comes quickly
            self._down = True
            self._until = time.ticks_add(now, ms)
            self._free = time.ticks_add(self._until, gap)
        return 0 if self._down else 1


class SimNetwork:
    """The ``network`` module's constants (the CYW43 set: Pico W codes)."""

    STA_IF = 0
    STAT_IDLE, STAT_CONNECTING, STAT_GOT_IP = 0, 1, 3
    STAT_CONNECT_FAIL, STAT_NO_AP_FOUND, STAT_WRONG_PASSWORD = -1, -2, -3


class SimWLAN:
    """network.WLAN(STA_IF) as wifi.py uses it, behaving as DEVICEPAIR_SIM_WIFI says."""

    def __init__(self, spec):
        self.mode, self.delay_ms, self.drop_s = "ok", 600, None
        for part in spec.split(","):
            k, _, v = part.partition(":")
            if k == "delay":
                self.delay_ms = int(v)
            elif k == "drop_after":
                self.drop_s = int(v)
            elif k:
                self.mode = k
        self._on = False
        self._ssid = None
        self._t = time.ticks_ms()
        self._up = None  # when the link came up

    def active(self, on=None):
        if on is not None:
            self._on = bool(on)
        return self._on

    def config(self, *a, **kw):
        return None

    def scan(self):
        if self.mode == "no_ap":
            return [(b"Neighbour", b"\x02\x00\x00\x00\x00\x02", 6, -80, 3, False)]
        return [(b"SimNet", b"\x02\x00\x00\x00\x00\x01", 6, -52, 3, False),
                (b"Neighbour", b"\x02\x00\x00\x00\x00\x02", 11, -80, 3, False)]

    def connect(self, ssid, key=None):
        self._ssid = ssid
        self._t = time.ticks_ms()
        self._up = None

    def disconnect(self):
        self._ssid = None
        self._up = None

    def status(self):
        if not self._on or self._ssid is None:
            return SimNetwork.STAT_IDLE
        now = time.ticks_ms()
        if time.ticks_diff(now, self._t) < self.delay_ms:
            return SimNetwork.STAT_CONNECTING
        if self.mode == "no_ap" or self._ssid != "SimNet":
            return SimNetwork.STAT_NO_AP_FOUND
        if self.mode == "wrong_password":
            return SimNetwork.STAT_WRONG_PASSWORD
        if self._up is None:
            self._up = now
        elif self.drop_s is not None and time.ticks_diff(now, self._up) > self.drop_s * 1000:
            self.drop_s = None  # one drop; the reconnect stays up
            self._ssid = self._up = None
            return SimNetwork.STAT_IDLE
        return SimNetwork.STAT_GOT_IP

    def isconnected(self):
        return self.status() == SimNetwork.STAT_GOT_IP

    def ifconfig(self):
        up = self.isconnected()
        return ("10.0.42.2" if up else "0.0.0.0", "255.255.255.0", "10.0.42.1", "10.0.42.1")


class SimLED:
    def __init__(self):
        self._v = 0

    def value(self, v=None):
        if v is None:
            return self._v
        if v != self._v:
            self._v = v
            print("[sim] LED " + ("on" if v else "off"))


def build(cfg=None):
    from devicepair.parts import Parts

    out = _out_dir()
    verbose = _env("VERBOSE", "0") == "1"
    note = "simulator: Enter = short press, l Enter = long press; screens in %s/" % out
    button = SimButton(verbose, _env("STDIN_EOF") == "exit")
    return Parts(NAME, SimOLED(out), W, H, button, False,
                 SimLED() if verbose else None, SimWLAN(_env("WIFI", "ok")), SimNetwork,
                 None, note)
