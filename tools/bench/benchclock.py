# The bench's clocks (MicroPython, .mpy). CLOCK is the fake one: no sleeping, time moves when
# the code asks to wait, so a 15-minute pairing runs in a moment. The board's button pin reads
# the same clock. "real" runs (the latency figure) swap in devicepair.clock.SystemClock.


class Clock:
    t = 0

    def ticks_ms(self):
        return self.t

    def ticks_diff(self, a, b):
        return a - b

    def ticks_add(self, a, d):
        return a + d

    def sleep_ms(self, ms):
        self.t += ms

    def unix_time(self):
        return 1795435200 + self.t // 1000


CLOCK = Clock()


def use_real():
    global CLOCK
    from devicepair.clock import SystemClock

    CLOCK = SystemClock()
    return CLOCK
