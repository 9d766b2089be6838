"""The serial console as a screen: what a board without a display (or its USB log) shows.

Each screen is one prefixed line; pairing prints the URI, the code, the complete URI and its
QR code as text blocks; the countdown prints every ``every`` seconds only, so a 15-minute
code is 30 lines, not 900. Everything printed passed ``screen.clean``: a server cannot move
the cursor or clear the terminal, and tokens never reach a screen.
"""

import gc

from .screen import MessageScreen, clean, mmss

_PAIRING = 1
_HOLD = 2


class SerialScreen(MessageScreen):
    """Plain prefixed lines, the QR as text.

    qr_invert=True suits the usual light-on-dark console (dark modules print as spaces);
    pass False for a dark-on-light one. ``write`` takes one line (default: print).
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
        from . import forget, loaded

        keep = loaded("qr")
        try:
            from . import qr

            q = qr.encode(data)
            gc.collect()
            for line in qr.to_text(q, 2, self._invert).split("\n"):
                self._out(line)
            q = qr = None
        except (ValueError, MemoryError):
            pass
        if not keep:  # printed once: the encoder's heap goes back
            forget("qr")
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

    def hold_progress(self, fraction):
        q = int(min(1.0, max(0.0, fraction)) * 4)
        if self._mode != _HOLD or q != self._hold:
            self._mode = _HOLD
            self._hold = q
            self._out("Keep holding: %d%%" % (q * 25))
