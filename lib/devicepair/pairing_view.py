"""The OLED pairing screen: user code, verification host, QR code, note and countdown.

Its own module because it is the largest screen and only needed while a code is shown:
screen_oled imports it on the first pairing, and drops the view (and its QR matrix) with the
next other screen. It draws with the OledScreen that owns it (``display``, ``font``,
``block``, ``clear``, ``scroll``) and keeps no token, only what the user must see.

Layout. The user code is drawn 2x compact (bigfont) and fits one line ("BCDF-GHJK" is
124 px); otherwise it breaks at a dash (dropped if it does not fit) onto two 2x lines, else
1x. The host is the verification_uri minus "https://", wrapped before "/?&#=" or after
".-_"; when it needs more lines than there are, the last line scrolls on tick().
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
or L when that allows a larger scale. It is encoded once per pairing (kept while the same
data comes back) and only drawn after that. Pages flip every page_ticks steps of tick(),
and page 1 stays until its scrolling host line has gone round once.
"""

import gc

from .screen import clean, host_of, mmss, wrap


class PairingView:
    def __init__(self, screen):
        self.s = screen
        self.qr = self.qr_data = None
        self.qr_fit = (0, 0)  # (scale, quiet zone in modules)
        self.pages = 1
        self.page = 0
        self.len = 0  # ticks the current page stays
        self.note_box = self.count_box = None

    def show(self, user_code, verification_uri, verification_uri_complete, seconds_left):
        self.code = clean(user_code, 24)
        uri = clean(verification_uri)
        self.host = host_of(uri)
        self.note = ""
        self.secs = seconds_left
        if self.s.show_qr:
            if verification_uri_complete:
                self._make_qr(clean(verification_uri_complete, 400))
            if not self.qr:  # absent or too long for this panel: the plain URI still helps
                self._make_qr(uri)
        self.pages = 2 if self.qr or not self.s.tall else 1
        self.page = 0
        self._draw_page()

    def flip(self):
        self.page = (self.page + 1) % self.pages
        self._draw_page()

    def _make_qr(self, data):
        if data == self.qr_data:
            return
        self.qr = None
        self.qr_data = data
        gc.collect()
        from . import forget, loaded

        keep = loaded("qr")
        from . import qr

        box = min(self.s.height, 64)
        best, scale = None, 0
        try:
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
        finally:  # the encoder's job is done: only qrdraw stays, for the symbol on screen
            del qr
            if not keep:
                forget("qr")
        if best:
            self.qr = best
            self.qr_fit = (scale, min(4, (box // scale - best.size) // 2))

    def _draw_page(self):
        o = self.s
        d, W, H, tall = o.display, o.width, o.height, o.tall
        o.clear()
        if self.page == 0:
            nl = 3 if tall else 2
            n = min(len(wrap(self.host, W // 8, True)), nl)
            o.block(self.host, 0, (nl - n) * 4 if tall else 0, W, nl, url=True)
            cx, cw = 0, W
            end = self._code_box(0, 26 if tall else 16, W, 16)
            self.len = o.page_ticks
            for s in o.scroll:
                self.len = max(self.len, len(s[3]))
        else:
            cx = 0
            if self.qr:
                from .qrdraw import draw

                s, quiet = self.qr_fit
                side = (self.qr.size + 2 * quiet) * s
                draw(self.qr, d, 0, (H - side) // 2, s, quiet, 0, 1)
                cx = side + 2
            cw = W - cx
            end = self._code_box(cx, 0, cw, 35 if tall else 16)
            self.len = o.page_ticks
        boxes = (None, None)
        if tall or self.page:  # note halfway between the code and the bottom countdown
            boxes = ((cx, (end + H - 16) // 2, cw), (cx, H - 8, cw))
        self.note_box, self.count_box = boxes
        self._count = None
        self._draw_note()
        self._draw_count()
        d.show()

    def _code_box(self, x, y, w, h):
        # The user code as large as fits in w x h; returns the y below it.
        c, font, d = self.code, self.s.font, self.s.display
        cw = font.width(c)
        if cw <= w and h >= 16:
            y += (h - 16) // 2
            font.draw(d, c, x + (w - cw) // 2, y)
            return y + 16
        if h >= 35:
            i, n = -1, len(c)
            for j in range(1, n - 1):  # the dash nearest the middle, else the middle
                if c[j] == "-" and (i < 0 or abs(2 * j - n) < abs(2 * i - n)):
                    i = j
            a, b = (c[:i + 1], c[i + 1:]) if i > 0 else (c[:(n + 1) // 2], c[(n + 1) // 2:])
            if i > 0 and font.width(a) > w:
                a = c[:i]
            wa, wb = font.width(a), font.width(b)
            if wa <= w and wb <= w:
                font.draw(d, a, x + (w - wa) // 2, y)
                font.draw(d, b, x + (w - wb) // 2, y + 19)
                return y + 35
        return y + 8 * self.s.block(c, x, y, w, h // 8, center=True)

    def _draw_note(self):
        if self.note_box:
            o = self.s
            x, y, w = self.note_box
            o.display.fill_rect(x, y, w, 8, 0)
            o.scroll = [s for s in o.scroll if s[5] != "note"]
            o.block(self.note, x, y, w, 1, center=True, tag="note")

    def _draw_count(self):
        if not self.count_box or self.secs is None:
            return False
        t = mmss(self.secs)
        if t == self._count:
            return False
        self._count = t
        x, y, w = self.count_box
        if len(t) + 11 <= w // 8:
            t = "expires in " + t
        d = self.s.display
        d.fill_rect(x, y, w, 8, 0)
        d.text(t, x + (w - 8 * len(t)) // 2, y, 1)
        return True

    def countdown(self, seconds_left):
        self.secs = seconds_left
        if self._draw_count():
            self.s.display.show()

    def polling_note(self, text):
        t = clean(text, 64)
        if t != self.note:
            self.note = t
            if self.note_box:
                self._draw_note()
                self.s.display.show()
