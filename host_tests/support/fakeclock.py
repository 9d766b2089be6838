"""A fake clock with the real signed wrap-around of MicroPython ticks.

It starts a few seconds before the 2**30 wrap so every test crosses it; ``advance`` moves
time forward, ``sleep_ms`` advances instead of sleeping. Runs on CPython and MicroPython.
"""

_PERIOD = 1 << 30
_HALF = 1 << 29


class FakeClock:
    def __init__(self, start=_PERIOD - 5000, unix=None):
        self._ticks = start & (_PERIOD - 1)
        self._elapsed = 0
        self._unix0 = unix  # wall clock at creation, or None when "not set"

    def ticks_ms(self):
        return self._ticks

    def ticks_diff(self, a, b):
        return ((a - b + _HALF) & (_PERIOD - 1)) - _HALF

    def ticks_add(self, a, delta):
        return (a + delta) & (_PERIOD - 1)

    def advance(self, ms):
        assert ms >= 0
        self._ticks = (self._ticks + ms) & (_PERIOD - 1)
        self._elapsed += ms

    def sleep_ms(self, ms):
        if ms > 0:
            self.advance(ms)

    @property
    def elapsed_ms(self):
        return self._elapsed

    def set_unix(self, t):
        self._unix0 = t - self._elapsed // 1000

    def unix_time(self):
        if self._unix0 is None:
            return None
        return self._unix0 + self._elapsed // 1000
