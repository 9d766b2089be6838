"""Pure-Python stand-in for MicroPython's ``framebuf`` module, for display tests on CPython.

CPython has no ``framebuf``; SSD1306 drivers and devicepair's OLED screen (its ``framebuf``
argument) need FrameBuffer with the same clipping, line algorithm and 8x8 font as the C
module (extmod/modframebuf.c), so that a screen drawn on CPython is bit-for-bit the screen
drawn on the board. Mono formats only (MONO_VLSB as the SSD1306 uses, MONO_HLSB, MONO_HMSB);
slow, but tests are small.
host_tests/both/test_screen.py checks the same drawings against the same snapshots on both
interpreters, which keeps this file honest. Imports fine under MicroPython too.

_FONT is font_petme128_8x8 (chr 32..127, 8 column bytes each, bit 0 = top row), dumped from
the real interpreter with this script (``.venv/bin/micropython dump.py``)::

    import framebuf
    buf = bytearray(8)
    fb = framebuf.FrameBuffer(buf, 8, 8, framebuf.MONO_VLSB)
    for c in range(32, 128, 4):
        line = ""
        for k in range(4):
            fb.fill(0)
            fb.text(chr(c + k), 0, 0, 1)
            line += "".join("%02x" % b for b in buf)
        print('    "' + line + '"')
"""

MONO_VLSB = MVLSB = 0
MONO_HLSB = 3
MONO_HMSB = 4

_FONT_HEX = (
    "00000000000000000000004f4f0000000007070000070700147f7f14147f7f14"
    "00242e6b6b3a1200006333180c66630000327f4d4d7772500000000406030100"
    "00001c3e63410000000041633e1c0000082a3e1c1c3e2a080008083e3e080800"
    "000080e0600000000008080808080800000000606000000000406030180c0602"
    "003e7f49457f3e000040447f7f40400000627351494f460000226349497f3600"
    "00181814167f7f1000276745457d3900003e7f49497b3200000303797d070300"
    "00367f49497f360000266f49497f3e000000002424000000000080e464000000"
    "00081c3663414100001414141414140000414163361c080000020351590f0600"
    "003e7f414d4f2e00007c7e0b0b7e7c00007f7f49497f3600003e7f4141632200"
    "007f7f41633e1c00007f7f4949414100007f7f0909010100003e7f41497b3a00"
    "007f7f08087f7f000000417f7f410000002060417f3f0100007f7f1c36634100"
    "007f7f4040404000007f7f060c067f7f007f7f0e1c7f7f00003e7f41417f3e00"
    "007f7f09090f0600001e3f21617f5e00007f7f19396f460000266f49497b3200"
    "0001017f7f010100003f7f40407f3f00001f3f60603f1f00007f7f3018307f7f"
    "0063771c1c77630000070f78780f0700006171594d47430000007f7f41410000"
    "0002060c18306040000041417f7f000000080c06060c0800c0c0c0c0c0c0c0c0"
    "000001030604000000207454547c7800007f7f44447c380000387c44446c2800"
    "00387c44447f7f0000387c54545c580000087e7f090302000098bca4a4fc7c00"
    "007f7f04047c78000000007d7d0000000040c08080fd7d00007f7f30386c4400"
    "0000417f7f400000007c7c1830187c7c007c7c04047c780000387c44447c3800"
    "00fcfc24243c180000183c2424fcfc00007c7c04040c080000485c5454742000"
    "04043f7f44642000003c7c40407c3c00001c3c60603c1c00001c7c3018307c1c"
    "00446c38386c4400009cbca0a0fc7c00004464745c4c44000008083e77414100"
    "000000ffff000000004141773e0808000002030103020301aa55aa55aa55aa55"
)
_font = None


def font():
    """The 768 font bytes: glyph of chr(c) is font()[(c - 32) * 8:(c - 31) * 8]."""
    global _font
    if _font is None:
        import binascii

        _font = binascii.unhexlify(_FONT_HEX)
    return _font


class FrameBuffer:
    def __init__(self, buf, width, height, fmt, stride=None):
        if fmt not in (MONO_VLSB, MONO_HLSB, MONO_HMSB):
            raise ValueError("fakefb: only mono formats")
        stride = width if stride is None else stride
        if fmt == MONO_VLSB:
            need = ((height + 7) // 8) * stride
        else:
            stride = (stride + 7) & ~7
            need = stride * height // 8
        if len(buf) < need:
            raise ValueError("buffer too small")
        self._buf = buf
        self._w = width
        self._h = height
        self._fmt = fmt
        self._stride = stride

    # -- raw access (no clipping), like setpixel/getpixel in modframebuf.c --
    def _index(self, x, y):
        if self._fmt == MONO_VLSB:
            return (y >> 3) * self._stride + x, y & 7
        i = (x + y * self._stride) >> 3
        return i, (7 - (x & 7)) if self._fmt == MONO_HLSB else (x & 7)

    def _set(self, x, y, c):
        i, b = self._index(x, y)
        if c & 1:
            self._buf[i] |= 1 << b
        else:
            self._buf[i] &= ~(1 << b) & 0xFF

    def _get(self, x, y):
        i, b = self._index(x, y)
        return (self._buf[i] >> b) & 1

    # -- the framebuf API --
    def pixel(self, x, y, c=None):
        if 0 <= x < self._w and 0 <= y < self._h:
            if c is None:
                return self._get(x, y)
            self._set(x, y, c)
        return None

    def fill_rect(self, x, y, w, h, c):
        if h < 1 or w < 1 or x + w <= 0 or y + h <= 0 or y >= self._h or x >= self._w:
            return
        xend = min(self._w, x + w)
        yend = min(self._h, y + h)
        x = max(x, 0)
        y = max(y, 0)
        for yy in range(y, yend):
            for xx in range(x, xend):
                self._set(xx, yy, c)

    def fill(self, c):
        self.fill_rect(0, 0, self._w, self._h, c)

    def hline(self, x, y, w, c):
        self.fill_rect(x, y, w, 1, c)

    def vline(self, x, y, h, c):
        self.fill_rect(x, y, 1, h, c)

    def rect(self, x, y, w, h, c, f=False):
        if f:
            self.fill_rect(x, y, w, h, c)
        else:
            self.fill_rect(x, y, w, 1, c)
            self.fill_rect(x, y + h - 1, w, 1, c)
            self.fill_rect(x, y, 1, h, c)
            self.fill_rect(x + w - 1, y, 1, h, c)

    def line(self, x1, y1, x2, y2, c):
        # Bresenham exactly as modframebuf.c (the end point is drawn separately).
        dx = x2 - x1
        sx = 1 if dx > 0 else -1
        dx = abs(dx)
        dy = y2 - y1
        sy = 1 if dy > 0 else -1
        dy = abs(dy)
        steep = dy > dx
        if steep:
            x1, y1 = y1, x1
            dx, dy = dy, dx
            sx, sy = sy, sx
        e = 2 * dy - dx
        for _ in range(dx):
            if steep:
                self.pixel(y1, x1, c)
            else:
                self.pixel(x1, y1, c)
            while e >= 0:
                y1 += sy
                e -= 2 * dx
            x1 += sx
            e += 2 * dy
        self.pixel(x2, y2, c)

    def text(self, s, x, y, c=1):
        f = font()
        for ch in str(s).encode("utf-8"):  # byte by byte like the C code: UTF-8 = 2+ glyphs
            if ch == 0:
                break  # a C string ends at NUL
            if ch < 32 or ch > 127:
                ch = 127
            k = (ch - 32) * 8
            for j in range(8):
                if 0 <= x < self._w:
                    col = f[k + j]
                    yy = y
                    while col:
                        if col & 1 and 0 <= yy < self._h:
                            self._set(x, yy, c)
                        col >>= 1
                        yy += 1
                x += 1

    def blit(self, src, x, y, key=-1, palette=None):
        if isinstance(src, tuple):  # (buffer, width, height, format[, stride])
            src = FrameBuffer(*src)
        sw, sh = src._w, src._h
        if x >= self._w or y >= self._h or -x >= sw or -y >= sh:
            return
        x0 = max(0, x)
        y0 = max(0, y)
        x1 = max(0, -x)
        y1 = max(0, -y)
        x0end = min(self._w, x + sw)
        y0end = min(self._h, y + sh)
        while y0 < y0end:
            cx1 = x1
            for cx0 in range(x0, x0end):
                col = src._get(cx1, y1)
                if palette is not None:
                    col = palette._get(col, 0)
                if col != key:
                    self._set(cx0, y0, col)
                cx1 += 1
            y1 += 1
            y0 += 1

    def scroll(self, xstep, ystep):
        w, h = self._w, self._h
        if xstep < 0:
            if -xstep >= w:
                return
            sx, xend, dx = 0, w + xstep, 1
        else:
            if xstep >= w:
                return
            sx, xend, dx = w - 1, xstep - 1, -1
        if ystep < 0:
            if -ystep >= h:
                return
            y, yend, dy = 0, h + ystep, 1
        else:
            if ystep >= h:
                return
            y, yend, dy = h - 1, ystep - 1, -1
        while y != yend:
            x = sx
            while x != xend:
                self._set(x, y, self._get(x - xstep, y - ystep))
                x += dx
            y += dy


FrameBuffer1 = FrameBuffer
