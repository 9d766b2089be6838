"""A fake SSD1306 for screen tests: the driver's API without I2C, plus ways to look at it.

Subclasses the real ``framebuf.FrameBuffer`` under MicroPython and fakefb's pure-Python one
on CPython (same MONO_VLSB layout, same font), so one test checks both. ``show()`` only
counts. Looking: ``row()``/``to_text()`` give '#'/'.' art, ``check_snapshot()`` compares it
with host_tests/both/snapshots/, ``line_text()``/``all_text()`` read 1x font text back,
``save_png()`` (CPython, Pillow) writes a lit-is-white image for a QR decoder. Everything
works a row at a time: the MicroPython test heap is 64 KB.
"""

import os

try:
    import framebuf
except ImportError:
    import fakefb as framebuf

_font = None


def _glyphs():
    # The 95 printable glyphs (8 column bytes each) as drawn by the text() in use.
    global _font
    if _font is None:
        buf = bytearray(8)
        fb = framebuf.FrameBuffer(buf, 8, 8, framebuf.MONO_VLSB)
        out = bytearray(8 * 95)
        for c in range(95):
            fb.fill(0)
            fb.text(chr(32 + c), 0, 0, 1)
            out[8 * c:8 * c + 8] = buf
        _font = bytes(out)
    return _font


def _char(cell):
    f = _glyphs()
    i = f.find(cell)
    while i >= 0 and i % 8:
        i = f.find(cell, i + 1)
    return chr(32 + i // 8) if i >= 0 else None


def snapshot_path(name):
    """host_tests/both/snapshots/<name>.txt, from CPython or from an .mpy run in both/."""
    f = __file__
    here = f[:f.rfind("/") + 1]
    for d in (here + "../both/", ""):
        p = d + "snapshots/" + name + ".txt"
        try:
            os.stat(p)
            return p
        except OSError:
            pass
    return here + "../both/snapshots/" + name + ".txt"


class FakeSSD1306(framebuf.FrameBuffer):
    def __init__(self, width=128, height=64):
        self.width = width
        self.height = height
        self.pages = height // 8
        self.buffer = bytearray(self.pages * width)
        super().__init__(self.buffer, width, height, framebuf.MONO_VLSB)
        self.shows = 0
        self.powered = True
        self.contrast_level = 0x7F
        self.inverted = False

    # -- the ssd1306.SSD1306 API --
    def show(self):
        self.shows += 1

    def poweroff(self):
        self.powered = False

    def poweron(self):
        self.powered = True

    def contrast(self, contrast):
        self.contrast_level = contrast

    def invert(self, invert):
        self.inverted = bool(invert)

    # -- pixels --
    def lit(self, x, y):
        """1 when pixel (x, y) is on; read from the buffer, so any base class works."""
        return (self.buffer[(y >> 3) * self.width + x] >> (y & 7)) & 1

    def row(self, y, on="#", off="."):
        """Pixel row y as text, e.g. '..##..'."""
        base = (y >> 3) * self.width
        bit = 1 << (y & 7)
        buf = self.buffer
        return "".join([on if buf[base + x] & bit else off for x in range(self.width)])

    def to_text(self, on="#", off="."):
        """The whole screen as text art, one line per pixel row."""
        return "\n".join([self.row(y, on, off) for y in range(self.height)])

    def blank_row(self, y):
        base = (y >> 3) * self.width
        bit = 1 << (y & 7)
        for x in range(self.width):
            if self.buffer[base + x] & bit:
                return False
        return True

    def changed_rows(self, before):
        """Pixel rows that differ from ``before``, an earlier bytes(self.buffer)."""
        rows = 0
        for i in range(len(before)):
            d = before[i] ^ self.buffer[i]
            if d:
                rows |= d << (8 * (i // self.width))
        return [y for y in range(self.height) if rows >> y & 1]

    def check_snapshot(self, name, x0=0):
        """Compare with snapshots/<name>.txt row by row (columns from x0 on); with
        DEVICEPAIR_UPDATE_SNAPSHOTS set, write the file instead."""
        path = snapshot_path(name)
        if os.getenv("DEVICEPAIR_UPDATE_SNAPSHOTS"):
            with open(path, "w") as f:
                for y in range(self.height):
                    f.write(self.row(y).rstrip(".") + "\n")
            return
        y = 0
        with open(path) as f:
            for line in f:
                want = line.rstrip("\n")
                got = self.row(y).rstrip(".")
                if got[x0:] != want[x0:]:
                    raise AssertionError("%s row %d\n got %s\nwant %s" % (name, y, got, want))
                y += 1
        assert y == self.height, (name, y)

    # -- reading text back --
    def columns(self, y):
        """Column bytes of the 8 pixel rows from y (bit 0 = row y), like a font glyph."""
        w, buf, sh = self.width, self.buffer, y & 7
        page = y >> 3
        out = bytearray(w)
        for x in range(w):
            v = 0
            if 0 <= page < self.pages:
                v = buf[page * w + x] >> sh
            if sh and page + 1 < self.pages:
                v |= buf[(page + 1) * w + x] << (8 - sh)
            out[x] = v & 0xFF
        return out

    def line_text(self, y, x=0, n=None, unknown="\x00", cols=None):
        """Decode the 1x font characters in the 8 pixel rows from y, cells at x, x+8, ...

        A blank cell is a space; a cell that is no glyph (QR, bar, 2x text) is ``unknown``.
        """
        if cols is None:
            cols = self.columns(y)
        if n is None:
            n = (self.width - x) // 8
        out = ""
        for i in range(n):
            x0 = x + 8 * i
            ch = _char(bytes(cols[x0:x0 + 8])) if 0 <= x0 <= self.width - 8 else None
            out += ch or unknown
        return out

    def find_text(self, y, x=0, w=None):
        """line_text at the best of the 8 horizontal phases (centred text), stripped."""
        if w is None:
            w = self.width - x
        cols = self.columns(y)
        best = ""
        best_score = -1
        for phase in range(8):
            s = self.line_text(y, x + phase, (w - phase) // 8, cols=cols)
            score = 0
            for ch in s:
                if ch == "\x00":
                    score -= 100
                elif ch != " ":
                    score += 1
            if score > best_score:
                best, best_score = s, score
        return best.strip()

    def all_text(self, x=0):
        """Every 1x text line on screen, top to bottom (2x text, QR codes, bars skipped)."""
        out = []
        y = 0
        while y <= self.height - 8:
            if not self.blank_row(y):
                t = self.find_text(y, x)
                if t and "\x00" not in t:
                    out.append(t)
                    y += 8
                    continue
            y += 1
        return out

    def save_png(self, path, scale=4, border=4):
        """Write the screen as a PNG (lit = white), each pixel scale x scale, with a black
        border of ``border`` pixels standing in for the panel glass. CPython only."""
        from PIL import Image

        w = (self.width + 2 * border) * scale
        h = (self.height + 2 * border) * scale
        img = Image.new("L", (w, h), 0)
        px = img.load()
        for y in range(self.height):
            for x in range(self.width):
                if self.lit(x, y):
                    x0 = (x + border) * scale
                    y0 = (y + border) * scale
                    for dy in range(scale):
                        for dx in range(scale):
                            px[x0 + dx, y0 + dy] = 255
        img.save(path)
        return path
