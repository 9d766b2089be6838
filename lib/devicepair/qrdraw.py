"""An encoded QR symbol and its drawing onto a framebuf: what the pairing screen keeps.

Apart from qr.py (the encoder, ~4 KB of heap on a board) so that the encoder is loaded for
one encode and dropped, while the symbol on screen keeps only this module's code alive (an
object's class pins its module's functions, so a qr.QRCode would keep the encoder loaded).
"""


class QRCode:
    """An encoded symbol: ``size`` modules per side, ``get(x, y)`` is True for dark."""

    def __init__(self, matrix, size, version, ecc, mask):
        self._m = matrix
        self.size = size
        self.version = version
        self.ecc = ecc
        self.mask = mask

    def get(self, x, y):
        """Dark module at column x, row y; outside the symbol (quiet zone) is light."""
        n = self.size
        return 0 <= x < n and 0 <= y < n and bool(self._m[y * n + x] & 1)


def draw(qr, fb, x, y, scale=1, quiet=4, dark=1, light=0):
    """Paint qr and its light quiet zone onto a framebuf-like fb; returns the width in px."""
    n = qr.size
    w = (n + 2 * quiet) * scale
    fb.fill_rect(x, y, w, w, light)
    x += quiet * scale
    y += quiet * scale
    for my in range(n):
        run = 0
        for mx in range(n + 1):  # get(n, my) is light: it ends the last run of the row
            if qr.get(mx, my):
                run += 1
            elif run:
                fb.fill_rect(x + (mx - run) * scale, y + my * scale, run * scale, scale, dark)
                run = 0
    return w
