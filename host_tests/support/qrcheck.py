"""Helpers for the QR tests on both interpreters: read the spec-defined areas back from a
symbol, and a framebuf.FrameBuffer stand-in.

Kept out of host_tests/both/test_qr.py so that, under MicroPython, their bytecode is not yet
in the heap while devicepair/qr.py is being compiled (that compile is the heap peak).
``FakeFB`` has the pixel/fill_rect/fill methods display code uses, with the same clipping;
monochrome, one bit per pixel (128x64 = 1 KB, like the OLED). CPython has no ``framebuf``.
"""

URL = "https://example.auth0.com/activate?user_code=ABCD-EFGH"


def url(n):
    """An ASCII verification URL of exactly n bytes."""
    s = URL
    while len(s) < n:
        s += "&state=" + str(len(s))
    return s[:n]


def is_finder(q, x0, y0):
    # 7x7 finder with its top-left at (x0, y0): dark ring, light ring, dark 3x3 centre.
    for dy in range(7):
        for dx in range(7):
            d = max(abs(dx - 3), abs(dy - 3))
            if q.get(x0 + dx, y0 + dy) != (d != 2):
                return False
    return True


def light_frame(q, x0, y0):
    # The 1-module separator around the finder whose top-left is (x0, y0).
    for i in range(-1, 8):
        for x, y in ((x0 + i, y0 - 1), (x0 + i, y0 + 7), (x0 - 1, y0 + i), (x0 + 7, y0 + i)):
            if q.get(x, y):
                return False
    return True


def bch_ok(word, nbits, poly):
    # A valid BCH code word is divisible by the generator polynomial over GF(2).
    deg = 0
    while poly >> (deg + 1):
        deg += 1
    for i in range(nbits - 1, deg - 1, -1):
        if word >> i & 1:
            word ^= poly << (i - deg)
    return word == 0


def read_bits(q, coords):
    # Bit i of the result is the module at coords[i] (dark = 1).
    w = 0
    for i in range(len(coords)):
        if q.get(coords[i][0], coords[i][1]):
            w |= 1 << i
    return w


def format_words(q):
    # The two 15-bit format words at their ISO 18004 positions, bit 0 first.
    n = q.size
    first = [(8, 0), (8, 1), (8, 2), (8, 3), (8, 4), (8, 5), (8, 7), (8, 8), (7, 8)]
    first += [(5, 8), (4, 8), (3, 8), (2, 8), (1, 8), (0, 8)]
    second = [(n - 1 - i, 8) for i in range(8)] + [(8, n - 7 + i) for i in range(7)]
    return read_bits(q, first), read_bits(q, second)


def make_fb(w, h):
    # The real MONO_VLSB framebuffer under MicroPython, the stand-in on CPython.
    try:
        import framebuf
    except ImportError:
        return FakeFB(w, h)
    return framebuf.FrameBuffer(bytearray(w * h // 8), w, h, framebuf.MONO_VLSB)


def check_drawn(fb, q, x, y, scale, quiet, dark, light, bg):
    # Every pixel of a 128x64 fb: the symbol with its quiet zone at (x, y), bg elsewhere.
    w = (q.size + 2 * quiet) * scale
    for py in range(64):
        for px in range(128):
            if x <= px < x + w and y <= py < y + w:
                mx = (px - x) // scale - quiet
                my = (py - y) // scale - quiet
                want = dark if q.get(mx, my) else light
            else:
                want = bg
            assert fb.pixel(px, py) == want, (px, py)


class FakeFB:
    """pixel/fill_rect/fill like framebuf.FrameBuffer, 1 bit per pixel, clipped."""

    def __init__(self, width, height):
        self.width = width
        self.height = height
        self.buf = bytearray((width * height + 7) // 8)

    def pixel(self, x, y, c=None):
        if not (0 <= x < self.width and 0 <= y < self.height):
            return None
        i = y * self.width + x
        if c is None:
            return (self.buf[i >> 3] >> (i & 7)) & 1
        if c:
            self.buf[i >> 3] |= 1 << (i & 7)
        else:
            self.buf[i >> 3] &= ~(1 << (i & 7))

    def fill_rect(self, x, y, w, h, c):
        for yy in range(max(y, 0), min(y + h, self.height)):
            for xx in range(max(x, 0), min(x + w, self.width)):
                self.pixel(xx, yy, c)

    def fill(self, c):
        self.fill_rect(0, 0, self.width, self.height, c)
