"""Read the simulator's OLED (sim-out/screen.bin, 1 KB MONO_VLSB) back as text, no OCR.

The screen is drawn with the 8x8 font of framebuf.FrameBuffer.text() (fakefb holds the same
glyphs), at 1x, or at 2x "compact" by devicepair.screen (blank glyph columns dropped, 2 px
between glyphs). So text is found by exact glyph matching: 1x cells at every x phase, 2x
runs by halving the columns at both x phases. Anything else (the QR code, bars) matches no
glyph and is skipped. CPython only (host tests, tools).
"""

import fakeoled

W, H = 128, 64


def _font():
    # glyph column bytes -> char, and (trimmed columns, char) longest first for 2x runs
    import fakefb

    f = fakefb.font()
    one = {}
    trimmed = []
    for c in range(32, 127):
        g = bytes(f[(c - 32) * 8:(c - 31) * 8])
        one.setdefault(g, chr(c))
        t = g.strip(b"\x00")
        if t and chr(c) not in " ":
            trimmed.append((t, chr(c)))
    trimmed.sort(key=lambda tc: -len(tc[0]))
    return one, trimmed


_ONE, _TRIMMED = _font()


class Screen:
    """One frame: ``lines()`` [(y, x, size, text)] top to bottom, ``text()``, ``has()``."""

    def __init__(self, buf):
        if buf is None or len(buf) != W * H // 8:
            raise ValueError("not a 128x64 frame")
        self.oled = fakeoled.FakeSSD1306(W, H)
        self.oled.buffer[:] = buf
        self._lines = None

    def lit(self, x, y):
        return self.oled.lit(x, y)

    def _small(self):
        found = []
        for y in range(H - 7):
            cols = self.oled.columns(y)
            for p in range(8):
                cells = []
                for x in range(p, W - 7, 8):
                    cells.append((x, _ONE.get(bytes(cols[x:x + 8]))))
                run = []
                for x, ch in cells + [(None, None)]:
                    if ch is not None:
                        run.append((x, ch))
                        continue
                    text = "".join(c for _, c in run).strip()
                    if sum(1 for c in text if c != " ") >= 2:
                        x0 = next(xx for xx, c in run if c != " ")
                        found.append((y, x0, 1, text))
                    run = []
        return found

    def _halved(self, y, px):
        out = bytearray()
        for x in range(px, W, 2):
            v = 0
            for k in range(8):
                if self.oled.lit(x, y + 2 * k):
                    v |= 1 << k
            out.append(v)
        return bytes(out)

    @staticmethod
    def _chain(cols, j):
        text, n = "", len(cols)
        while j < n:
            hit = [(t, ch) for t, ch in _TRIMMED if cols[j:j + len(t)] == t and
                   (j + len(t) == n or cols[j + len(t)] == 0)]
            if not hit:
                break
            text += hit[0][1]  # the longest glyph that fits
            j += len(hit[0][0])
            gap = 0
            while j < n and cols[j] == 0:
                gap += 1
                j += 1
            if gap >= 4 and j < n:
                text += " "
            elif gap != 1:
                break
        return text.strip(), j

    def _band(self, y):
        """The 2x readings of the 16 rows from y (both x phases, overlaps resolved)."""
        best = []
        for px in (0, 1):
            cols = self._halved(y, px)
            j = 0
            while j < len(cols):
                if cols[j] and (j == 0 or not cols[j - 1]):
                    t, end = self._chain(cols, j)
                    if len(t.replace(" ", "")) >= 2:
                        best.append((y, px + 2 * j, 2, t))
                        j = end
                        continue
                j += 1
        # the same line read at both x phases: keep the longer of overlapping readings
        kept = []
        for b in sorted(best, key=lambda b: -len(b[3])):
            x0, x1 = b[1], b[1] + 14 * len(b[3])
            if not any(k[1] < x1 and x0 < k[1] + 14 * len(k[3]) for k in kept):
                kept.append(b)
        return kept

    def _score(self, kept):
        # characters read, then how many readings touch their band's top row (capitals do):
        # a band a few rows too high reads glyphs shifted down, which can be other glyphs
        chars = sum(len(t.replace(" ", "")) for _, _, _, t in kept)
        top = sum(1 for y, x, _, t in kept
                  if any(self.lit(xx, y) for xx in range(x, min(W, x + 14 * len(t)))))
        return chars, top

    def _big(self):
        found = []
        y = 0
        while y <= H - 16:
            kept = self._band(y)
            if not kept:
                y += 1
                continue
            # A 2x line is found at the first row where something reads, which may be up to 7
            # rows above it: "PP" 2 rows lower reads as "pp". So of this row and the next 7,
            # take the one that reads the most (the earliest of equals).
            best, score = kept, self._score(kept)
            for yy in range(y + 1, min(y + 8, H - 15)):
                k = self._band(yy)
                sc = self._score(k) if k else (0, 0)
                if sc > score:
                    best, score = k, sc
            found += best
            y = best[0][0] + 16
        return found

    def lines(self):
        if self._lines is None:
            big = self._big()
            small = [s for s in self._small()
                     if not any(b[0] - 8 < s[0] < b[0] + 16 and b[1] <= s[1] + 8 * len(s[3])
                                and s[1] <= b[1] + 12 * len(b[3]) for b in big)]
            self._lines = sorted(big + small)
        return self._lines

    def text(self):
        """Every line found, top to bottom ("\\n" between)."""
        return "\n".join(t for _, _, _, t in self.lines())

    def big(self):
        """The 2x lines (titles, the user code)."""
        return [t for _, _, s, t in self.lines() if s == 2]

    def has(self, s):
        return s in self.text()

    def art(self):
        return self.oled.to_text("#", ".")


def read(path):
    """Screen of the frame file at ``path``, or None (not written yet / torn)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return None
    try:
        return Screen(data)
    except ValueError:
        return None
