"""Time for the board and for the host: ticks with wrap-around, sleeping, wall clock.

Logic modules take a clock object instead of calling ``time`` so tests can drive a whole
15-minute pairing in milliseconds. Always subtract ticks with ``ticks_diff``, never ``-``:
on a board ``ticks_ms`` wraps (every ~12.4 days on most ports).
"""

import time

try:
    # (pyright: the except branch below defines the same four for CPython, with other types)
    from time import ticks_ms, ticks_diff, ticks_add, sleep_ms  # pyright: ignore[reportAssignmentType]
except ImportError:  # CPython: the same semantics as MicroPython's, period 2**30
    _PERIOD = 1 << 30
    _HALF = 1 << 29

    def ticks_ms():
        t = time.monotonic()  # pyright: ignore[reportAttributeAccessIssue] - CPython only
        return int(t * 1000) & (_PERIOD - 1)

    def ticks_diff(a, b):
        return ((a - b + _HALF) & (_PERIOD - 1)) - _HALF

    def ticks_add(a, delta):
        return (a + delta) & (_PERIOD - 1)

    def sleep_ms(ms):
        if ms > 0:
            time.sleep(ms / 1000)


# Seconds between 1970-01-01 and 2000-01-01: boards with a 2000 epoch report time() this much
# lower. The token store keeps Unix time so a file stays valid whatever the port's epoch.
_EPOCH_2000 = 946684800
# Any wall clock before this (2024-01-01) has not been set yet (RTC starts at 2000 or 1970).
_SANE_UNIX = 1704067200


class SystemClock:
    """The real clock. ``unix_time()`` is None until the RTC has been set (NTP)."""

    def ticks_ms(self):
        return ticks_ms()

    def ticks_diff(self, a, b):
        return ticks_diff(a, b)

    def ticks_add(self, a, delta):
        return ticks_add(a, delta)

    def sleep_ms(self, ms):
        sleep_ms(ms)

    def unix_time(self):
        t = int(time.time())
        if time.gmtime(0)[0] == 2000:
            t += _EPOCH_2000
        return t if t >= _SANE_UNIX else None
