"""The screens on an SSD1306 OLED (128x64 or 128x32), or any framebuf-style display.

The display needs ``text fill fill_rect rect pixel show`` (ssd1306.SSD1306_I2C has them, and
so does a framebuf.FrameBuffer with a show()). Each screen method draws a whole screen with
one show(); countdown(), polling_note(), tick() and repeated hold_progress() calls redraw
only their own area. Plain screens are a title (2x when it fits) over a wrapped body; text
that needs more lines than there are scrolls sideways on the last one (``tick``) - never
silently cut. The pairing screen is pairing_view's, loaded and built when pairing starts and
dropped (with its QR code) when any other screen is shown; pairing_view and qrdraw are then
unloaded too (unless something had imported them before), so a paired board, where the
user's own code runs, gets their heap back. The QR encoder (qr) is loaded for one encode
only, while the code is shown.

Injected: ``framebuf`` (the module whose FrameBuffer renders 2x glyphs; default the board's
own) and ``clock`` (ticks_ms/ticks_diff/ticks_add; default the system clock). tick() may be
called on every pass of the main loop: it acts once per step_ms.
"""

import gc

from .bigfont import BigFont
from .screen import MessageScreen, wrap

_PAIRING = 1
_HOLD = 2


def _modules(drop):
    # The pairing view's modules (devicepair.pairing_view, .qrdraw) not loaded yet; or, given a
    # list of them, forget those so their code's heap returns (as providers does with presets)
    import sys

    pkg = sys.modules[__name__[:-12]]  # "devicepair", less ".screen_oled"
    out = []
    for n in ("pairing_view", "qrdraw") if drop is None else drop:
        if drop is not None:
            pkg.forget(n)
        elif not pkg.loaded(n):
            out.append(n)
    return out


class OledScreen(MessageScreen):
    """Screens on ``display``, ``width`` x ``height`` px. The pairing view pages every
    ``page_ticks`` steps of ``step_ms``; show_qr=False leaves the QR code out."""

    def __init__(self, display, width=128, height=64, clock=None, step_ms=500, page_ticks=10,
                 show_qr=True, framebuf=None):
        if framebuf is None:
            import framebuf  # the board's; CPython has none: pass one (host_tests' fakefb)
        if clock is None:
            from .clock import SystemClock

            clock = SystemClock()
        self.display = display
        self.width = width
        self.height = height
        self.tall = height >= 64
        self.font = BigFont(framebuf)
        self.page_ticks = page_ticks
        self.show_qr = show_qr
        self.view = None  # a pairing_view.PairingView while the pairing screen is up
        self._loaded = []  # modules the view brought in, unloaded with it
        self.scroll = []  # marquee lines: [x, y, chars, text + gap, offset, tag]
        self._clock = clock
        self._step_ms = step_ms
        self._begin(None)

    def _begin(self, mode):
        self._mode = mode
        if mode != _PAIRING and self.view is not None:
            self.view = None  # the QR code and the pairing state go with it
            _modules(self._loaded)
            gc.collect()
        self.clear()

    def clear(self):
        """Blank the display and forget scrolling lines (nothing is shown until show())."""
        self.scroll = []
        self._restart()
        self.display.fill(0)

    # -- text --
    def _marquee(self, s):
        x, y, n, t, off = s[0], s[1], s[2], s[3], s[4]
        win = t[off:off + n]
        if len(win) < n:
            win += t[:n - len(win)]
        self.display.fill_rect(x, y, 8 * n, 8, 0)
        self.display.text(win, x, y, 1)

    def block(self, text, x, y, w, nl, url=False, center=False, lh=8, tag=None):
        """Wrapped 1x text in at most nl lines of lh px from (x, y), w px wide; what does not
        fit scrolls on the last line (``tag`` names it for ``scroll``). Returns lines used."""
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
                self.scroll.append(s)
                self._marquee(s)
            else:
                self.display.text(ln, x + ((w - 8 * len(ln)) // 2 if center else 0), y, 1)
            y += lh
        return len(lines)

    def _msg(self, title, body, line=None, mode=None):
        self._begin(mode)
        W, H, font = self.width, self.height, self.font
        lh = 10 if self.tall else 8
        th = gap = tw = 0
        if title:
            tw = font.width(title)
            th = 16 if tw <= W else 8
            gap = 6 if self.tall else 0
        maxl = max(1, (H - th - gap + lh - 8) // lh)
        n = min(len(wrap(body, W // 8)), maxl)
        y = (H - th - gap - n * lh + lh - 8) // 2
        if th == 16:
            font.draw(self.display, title, (W - tw) // 2, y)
        elif title:
            self.block(title, 0, y, W, 1, center=True)
        self.block(body, 0, y + th + gap, W, maxl, center=True, lh=lh)
        self.display.show()

    def hold_progress(self, fraction):
        f = min(1.0, max(0.0, fraction))
        d, W = self.display, self.width
        y = (self.height - 24) // 2 + 16
        if self._mode != _HOLD:
            self._begin(_HOLD)
            d.text("Keep holding...", (W - 120) // 2, y - 16, 1)
            d.rect(4, y - 2, W - 8, 10, 1)
        d.fill_rect(6, y, W - 12, 6, 0)
        d.fill_rect(6, y, int((W - 12) * f), 6, 1)
        d.show()

    # -- pairing: drawn by pairing_view, loaded on first use --
    def pairing(self, user_code, verification_uri, verification_uri_complete=None,
                seconds_left=None):
        self._begin(_PAIRING)
        if self.view is None:
            self._loaded = _modules(None)
            from .pairing_view import PairingView

            self.view = PairingView(self)
        self.view.show(user_code, verification_uri, verification_uri_complete, seconds_left)

    def countdown(self, seconds_left):
        if self.view is not None:
            self.view.countdown(seconds_left)

    def polling_note(self, text):
        if self.view is not None:
            self.view.polling_note(text)

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
        v = self.view
        if v is not None and v.pages > 1 and self._ticks >= v.len:
            v.flip()
            return True
        if not self.scroll:
            return False
        for s in self.scroll:
            s[4] = (s[4] + 1) % len(s[3])
            self._marquee(s)
        self.display.show()
        return True
