"""Large text for the OLED: framebuf's own 8x8 font at 2x, "compact".

The user code is what a user reads from across the desk, and a 128 px panel is narrow:
"BCDF-GHJK" at plain 2x is 144 px. Compact drops each glyph's blank columns and puts 2 px
between glyphs, so it is 124 px and fits one line. The glyphs come from the same
``FrameBuffer.text()`` as the rest of the screen, rendered one at a time into an 8-byte
scratch buffer made once: no font table in RAM, no allocation per character, and the board's
font is the font. The framebuf module is passed in (the board's, or a host test's stand-in).
"""

_GAP = 2  # px between glyphs
_SPACE = 6  # px of a space (a glyph with no lit column)


class BigFont:
    def __init__(self, framebuf):
        self._buf = bytearray(8)  # one 8x8 MONO_VLSB glyph: 8 column bytes
        self._fb = framebuf.FrameBuffer(self._buf, 8, 8, framebuf.MONO_VLSB)

    def _glyph(self, ch):
        # Render ch into the scratch glyph; first and last used column (last < first: blank).
        g = self._buf
        self._fb.fill(0)
        self._fb.text(ch, 0, 0, 1)
        first, last = 0, 7
        while first < 8 and not g[first]:
            first += 1
        while last >= first and not g[last]:
            last -= 1
        return first, last

    def width(self, s):
        """Pixels that ``s`` takes at 2x compact."""
        w = 0
        for ch in s:
            a, b = self._glyph(ch)
            w += (b - a + 1) * 2 + _GAP if b >= a else _SPACE + _GAP
        return w - _GAP if w else 0

    def draw(self, d, s, x, y):
        """Draw ``s`` on display ``d`` (anything with fill_rect) with its top left at x, y."""
        g = self._buf
        for ch in s:
            a, z = self._glyph(ch)
            if z < a:
                x += _SPACE + _GAP
                continue
            for j in range(a, z + 1):
                b, r = g[j], 0
                while b:  # each vertical run of lit pixels is one 2 px wide rectangle
                    if b & 1:
                        r0 = r
                        while b & 1:
                            b >>= 1
                            r += 1
                        d.fill_rect(x, y + 2 * r0, 2, 2 * (r - r0), 1)
                    else:
                        b >>= 1
                        r += 1
                x += 2
            x += _GAP
