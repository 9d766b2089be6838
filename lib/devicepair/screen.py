"""Everything the user sees: an SSD1306 OLED (128x64 or 128x32) or the serial console.

OledScreen and SerialScreen have the same methods, so the app holds one ``screen`` and does
not care which. Each method draws a whole screen (one show()); countdown(), polling_note(),
tick() and repeated hold_progress() calls only redraw their own area. Server text is
sanitised to printable ASCII ("?" for the rest) and bounded; the API takes no tokens.

OLED pairing layout. The user code is drawn at 2x "compact": blank glyph columns dropped and
2 px between glyphs, so "BCDF-GHJK" is 124 px instead of 144 and fits one line; otherwise it
breaks at a dash (dropped if it does not fit) onto two 2x lines, else 1x. The host is the
verification_uri minus "https://", wrapped before "/?&#=" or after ".-_"; when it needs more
lines than there are, the last line scrolls sideways on tick() - never silently cut.
128x64, page 1: host (3 lines) / code 2x / polling note / "expires in mm:ss".
        page 2: QR on the left (64 px high: up to version 3 at scale 2, version 10 at scale 1)
                and the code (2x, two lines), note and countdown in the column on the right.
  Two pages because next to a 64 px QR only 8 characters per line remain: the host would
  need 3-5 lines and the code would shrink to 1x. Alternating keeps the code at 2x on both
  pages and gives the QR the full height. No QR (show_qr=False, too long) = page 1 only.
128x32, page 1: host (2 lines) / code 2x.  page 2: QR (32 px, version <= 3) if it fits,
  then code, note and countdown on the right. Always two pages: one cannot hold them all.
The QR holds verification_uri_complete, else (absent, or too long for the panel) the plain
verification_uri: it still saves typing the URL, and the code is on both pages. Normal
polarity: dark modules are unlit pixels on a lit quiet zone (>= 1 module, up to 4), ECC M,
or L when that allows a larger scale.
tick() may be called on every pass of the main loop: it acts once per step_ms (clock =
anything with ticks_ms/ticks_diff/ticks_add), moving long lines one character and flipping
the pages every page_ticks steps (page 1 stays until its scrolling host line has gone round).
"""

import gc

MAXTEXT = 200
_GAP = 2  # px between glyphs of 2x text
_SPACE = 6  # px of a space in 2x text
_PAIRING = 1
_HOLD = 2


def clean(s, limit=MAXTEXT):
    """Printable ASCII only: control and non-ASCII characters become "?"; at most limit."""
    s = "" if s is None else str(s)
    tail = ""
    if len(s) > limit:
        s, tail = s[:limit], "..."
    for ch in s:
        if not " " <= ch <= "~":
            s = "".join([c if " " <= c <= "~" else "?" for c in s])
            break
    return s + tail


def mmss(seconds):
    """Seconds left as "mm:ss" (minutes may exceed 59); negative shows as 00:00."""
    s = max(0, int(seconds))
    return "%02d:%02d" % (s // 60, s % 60)


def host_of(uri):
    """What the user types: the URI without "https://" (other schemes stay visible)."""
    return uri[8:] if uri[:8].lower() == "https://" else uri


def wrap(s, n, url=False):
    """Lines of at most n chars: break at spaces, or before "/?&#=" / after ".-_" for URLs."""
    n = max(1, n)
    lines = []
    while len(s) > n:
        cut = n
        for i in range(n, n // 3, -1):
            if (s[i] in "/?&#=" or s[i - 1] in ".-_") if url else s[i] == " ":
                cut = i
                break
        lines.append(s[:cut] if url else s[:cut].rstrip())
        s = s[cut:] if url else s[cut:].lstrip()
    if s or not lines:
        lines.append(s)
    return lines


class _Screen:
    """The plain screens of both kinds: each is a title and body (OLED) or one line."""

    def booting(self, version):
        v = clean(version, 16)
        self._msg("devicepair", "v" + v + " starting", "devicepair " + v + " starting")

    def status(self, text):
        t = clean(text)
        self._msg(None, t, t)

    def idle(self, name=None):
        n = clean(name, 32) if name else ""
        t = "Press button to pair"
        self._msg(n or "Ready", t, t + " (" + n + ")" if n else t)

    def approved(self):
        self._msg("Approved", "Finishing...", "Approved - finishing pairing")

    def paired(self, name):
        n = clean(name, 64)
        self._msg("Paired", "as " + n, "Paired as " + n)

    def denied(self):
        self._msg("Denied", "Press to retry", "Denied - press to retry")

    def expired(self):
        t = "Code expired - press to retry"
        self._msg("Expired", t, t)

    def error(self, reason):
        r = clean(reason, 64)
        self._msg("Error", r, "Error: " + r)

    def unpair_confirm(self):
        t = "Press again to unpair"
        self._msg("Unpair?", t, t)

    def unpaired(self):
        self._msg("Unpaired", "Press button to pair", "Unpaired - press button to pair")


class SerialScreen(_Screen):
    """The screen for boards without a display: plain prefixed lines, QR as text blocks.

    qr_invert=True suits the usual light-on-dark console (dark modules print as spaces);
    pass False for a dark-on-light one. The countdown prints every ``every`` seconds only.
    """

    def __init__(self, write=None, prefix="[devicepair] ", qr_invert=True, every=30):
        self._write = write or print
        self._prefix = prefix
        self._invert = qr_invert
        self._every = every
        self._mode = self._last = self._note = None
        self._hold = -1

    def _out(self, text):
        self._write(self._prefix + text)

    def _msg(self, title, body, line, mode=None):
        self._mode = mode
        self._out(line)

    def pairing(self, user_code, verification_uri, verification_uri_complete=None,
                seconds_left=None):
        uri = clean(verification_uri)
        self._msg(None, None, "To pair, open " + uri, _PAIRING)
        self._out("and enter the code " + clean(user_code, 24))
        data = uri
        if verification_uri_complete:
            data = clean(verification_uri_complete, 400)
            self._out("or open " + data)
        try:
            from devicepair import qr

            q = qr.encode(data)
            gc.collect()
            for line in qr.to_text(q, 2, self._invert).split("\n"):
                self._out(line)
            q = None
        except (ValueError, MemoryError):
            pass
        gc.collect()
        self._note = self._last = None
        self.countdown(seconds_left)

    def countdown(self, seconds_left):
        if self._mode != _PAIRING or seconds_left is None:
            return
        if self._last is None or self._last - seconds_left >= self._every:
            self._last = seconds_left
            self._out("Code expires in " + mmss(seconds_left))

    def polling_note(self, text):
        t = clean(text, 64)
        if self._mode == _PAIRING and t != self._note:
            self._note = t
            self._out(t)

    def tick(self):
        return False

    def hold_progress(self, fraction):
        q = int(min(1.0, max(0.0, fraction)) * 4)
        if self._mode != _HOLD or q != self._hold:
            self._mode = _HOLD
            self._hold = q
            self._out("Keep holding: %d%%" % (q * 25))


class OledScreen(_Screen):
    """Screens on a framebuf-style display (``text fill fill_rect rect pixel show``)."""

    def __init__(self, display, width=128, height=64, clock=None, step_ms=500, page_ticks=10,
                 show_qr=True):
        try:
            import framebuf
        except ImportError:  # CPython host tests: host_tests/support/fakefb.py
            import fakefb as framebuf
        if clock is None:
            from devicepair.clock import SystemClock

            clock = SystemClock()
        self._clock = clock
        self._step_ms = step_ms
        self._d = display
        self._w = width
        self._h = height
        self._tall = height >= 64
        self._page_ticks = page_ticks
        self._show_qr = show_qr
        self._gbuf = bytearray(8)  # one 8x8 glyph, for 2x text
        self._gfb = framebuf.FrameBuffer(self._gbuf, 8, 8, framebuf.MONO_VLSB)
        self._qr = self._qr_data = None
        self._qr_fit = (0, 0)
        self._begin(None)

    def _begin(self, mode):
        self._mode = mode
        self._scroll = []  # marquee lines: [x, y, chars, text + gap, offset, tag]
        self._restart()
        self._pages = 1
        if mode != _PAIRING and self._qr_data is not None:
            self._qr = self._qr_data = None
            gc.collect()
        self._d.fill(0)

    # -- text helpers --
    def _glyph(self, ch):
        # Render ch into the scratch glyph; first and last used column (last < first: blank).
        g = self._gbuf
        self._gfb.fill(0)
        self._gfb.text(ch, 0, 0, 1)
        first, last = 0, 7
        while first < 8 and not g[first]:
            first += 1
        while last >= first and not g[last]:
            last -= 1
        return first, last

    def _bigw(self, s):
        w = 0
        for ch in s:
            a, b = self._glyph(ch)
            w += (b - a + 1) * 2 + _GAP if b >= a else _SPACE + _GAP
        return w - _GAP if w else 0

    def _big(self, s, x, y):
        d, g = self._d, self._gbuf
        for ch in s:
            a, z = self._glyph(ch)
            if z < a:
                x += _SPACE + _GAP
                continue
            for j in range(a, z + 1):
                b, r = g[j], 0
                while b:
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

    def _marquee(self, s):
        x, y, n, t, off = s[0], s[1], s[2], s[3], s[4]
        win = t[off:off + n]
        if len(win) < n:
            win += t[:n - len(win)]
        self._d.fill_rect(x, y, 8 * n, 8, 0)
        self._d.text(win, x, y, 1)

    def _block(self, text, x, y, w, nl, url=False, center=False, lh=8, tag=None):
        # Wrapped 1x text in nl lines; what does not fit scrolls on the last line.
        n = max(1, w // 8)
        nl = max(1, nl)
        lines = wrap(text, n, url)
        if len(lines) > nl:
            rest = ("" if url else " ").join(lines[nl - 1:])
            lines = lines[:nl - 1]
            lines.append(rest)
        for ln in lines:
            if len(ln) > n:
                s = [x, y, n, ln + "   ", 0, tag]
                self._scroll.append(s)
                self._marquee(s)
            else:
                self._d.text(ln, x + ((w - 8 * len(ln)) // 2 if center else 0), y, 1)
            y += lh
        return len(lines)

    def _msg(self, title, body, line=None, mode=None):
        self._begin(mode)
        d, W, H = self._d, self._w, self._h
        lh = 10 if self._tall else 8
        th = gap = tw = 0
        if title:
            tw = self._bigw(title)
            th = 16 if tw <= W else 8
            gap = 6 if self._tall else 0
        maxl = max(1, (H - th - gap + lh - 8) // lh)
        n = min(len(wrap(body, W // 8)), maxl)
        y = (H - th - gap - n * lh + lh - 8) // 2
        if th == 16:
            self._big(title, (W - tw) // 2, y)
        elif title:
            self._block(title, 0, y, W, 1, center=True)
        self._block(body, 0, y + th + gap, W, maxl, center=True, lh=lh)
        d.show()

    def hold_progress(self, fraction):
        f = min(1.0, max(0.0, fraction))
        d, W = self._d, self._w
        y = (self._h - 24) // 2 + 16
        if self._mode != _HOLD:
            self._begin(_HOLD)
            d.text("Keep holding...", (W - 120) // 2, y - 16, 1)
            d.rect(4, y - 2, W - 8, 10, 1)
        d.fill_rect(6, y, W - 12, 6, 0)
        d.fill_rect(6, y, int((W - 12) * f), 6, 1)
        d.show()

    # -- pairing --
    def pairing(self, user_code, verification_uri, verification_uri_complete=None,
                seconds_left=None):
        self._begin(_PAIRING)
        self._code = clean(user_code, 24)
        uri = clean(verification_uri)
        self._host = host_of(uri)
        self._note = ""
        self._secs = seconds_left
        if self._show_qr:
            if verification_uri_complete:
                self._make_qr(clean(verification_uri_complete, 400))
            if not self._qr:  # absent or too long for this panel: the plain URI still helps
                self._make_qr(uri)
        self._pages = 2 if self._qr or not self._tall else 1
        self._page = 0
        self._draw_page()

    def _make_qr(self, data):
        # Encoded once per pairing (kept while the same data comes back), then only drawn.
        if data == self._qr_data:
            return
        self._qr = None
        self._qr_data = data
        gc.collect()
        from devicepair import qr

        box = min(self._h, 64)
        best, scale = None, 0
        for ecc in ("M", "L"):  # L only when a smaller version gets a larger scale
            maxv = min(10, (box // (scale + 1) - 19) // 4)
            if maxv < 1:
                break
            try:
                q = qr.encode(data, ecc, 1, maxv)
            except (ValueError, MemoryError):
                continue
            s = qr.fit_scale(q, box, box, 1)
            if s > scale:
                best, scale = q, s
            q = None
            gc.collect()
        if best:
            self._qr = best
            self._qr_fit = (scale, min(4, (box // scale - best.size) // 2))

    def _draw_page(self):
        d, W, H, tall = self._d, self._w, self._h, self._tall
        d.fill(0)
        self._scroll = []
        self._restart()
        if self._page == 0:
            nl = 3 if tall else 2
            n = min(len(wrap(self._host, W // 8, True)), nl)
            self._block(self._host, 0, (nl - n) * 4 if tall else 0, W, nl, url=True)
            cx, cw = 0, W
            end = self._code_box(0, 26 if tall else 16, W, 16)
            self._len = self._page_ticks
            for s in self._scroll:
                self._len = max(self._len, len(s[3]))
        else:
            cx = 0
            if self._qr:
                from devicepair import qr

                s, quiet = self._qr_fit
                side = (self._qr.size + 2 * quiet) * s
                qr.draw(self._qr, d, 0, (H - side) // 2, s, quiet, 0, 1)
                cx = side + 2
            cw = W - cx
            end = self._code_box(cx, 0, cw, 35 if tall else 16)
            self._len = self._page_ticks
        boxes = (None, None)
        if tall or self._page:  # note halfway between the code and the bottom countdown
            boxes = ((cx, (end + H - 16) // 2, cw), (cx, H - 8, cw))
        self._note_box, self._count_box = boxes
        self._count = None
        self._draw_note()
        self._draw_count()
        d.show()

    def _code_box(self, x, y, w, h):
        # The user code as large as fits in w x h; returns the y below it.
        c = self._code
        cw = self._bigw(c)
        if cw <= w and h >= 16:
            y += (h - 16) // 2
            self._big(c, x + (w - cw) // 2, y)
            return y + 16
        if h >= 35:
            i, n = -1, len(c)
            for j in range(1, n - 1):  # the dash nearest the middle, else the middle
                if c[j] == "-" and (i < 0 or abs(2 * j - n) < abs(2 * i - n)):
                    i = j
            a, b = (c[:i + 1], c[i + 1:]) if i > 0 else (c[:(n + 1) // 2], c[(n + 1) // 2:])
            if i > 0 and self._bigw(a) > w:
                a = c[:i]
            wa, wb = self._bigw(a), self._bigw(b)
            if wa <= w and wb <= w:
                self._big(a, x + (w - wa) // 2, y)
                self._big(b, x + (w - wb) // 2, y + 19)
                return y + 35
        return y + 8 * self._block(c, x, y, w, h // 8, center=True)

    def _draw_note(self):
        if self._note_box:
            x, y, w = self._note_box
            self._d.fill_rect(x, y, w, 8, 0)
            self._scroll = [s for s in self._scroll if s[5] != "note"]
            self._block(self._note, x, y, w, 1, center=True, tag="note")

    def _draw_count(self):
        if not self._count_box or self._secs is None:
            return False
        t = mmss(self._secs)
        if t == self._count:
            return False
        self._count = t
        x, y, w = self._count_box
        if len(t) + 11 <= w // 8:
            t = "expires in " + t
        self._d.fill_rect(x, y, w, 8, 0)
        self._d.text(t, x + (w - 8 * len(t)) // 2, y, 1)
        return True

    def countdown(self, seconds_left):
        if self._mode == _PAIRING:
            self._secs = seconds_left
            if self._draw_count():
                self._d.show()

    def polling_note(self, text):
        t = clean(text, 64)
        if self._mode == _PAIRING and t != self._note:
            self._note = t
            if self._note_box:
                self._draw_note()
                self._d.show()

    def _restart(self):
        c = self._clock
        self._ticks = 0
        self._due = c.ticks_add(c.ticks_ms(), self._step_ms)

    def tick(self):
        """Once per step_ms: scroll long lines, flip pairing pages; True when it redrew."""
        c = self._clock
        now = c.ticks_ms()
        if c.ticks_diff(now, self._due) < 0:
            return False
        self._due = c.ticks_add(now, self._step_ms)
        self._ticks += 1
        if self._mode == _PAIRING and self._pages > 1 and self._ticks >= self._len:
            self._page = (self._page + 1) % self._pages
            self._draw_page()
            return True
        if not self._scroll:
            return False
        for s in self._scroll:
            s[4] = (s[4] + 1) % len(s[3])
            self._marquee(s)
        self._d.show()
        return True
