# The bench's clock (MicroPython, .mpy): no sleeping, time moves when the code asks to wait.


class Clock:
    t = 0

    def ticks_ms(self):
        return self.t

    def ticks_diff(self, a, b):
        return a - b

    def ticks_add(self, a, d):
        return a + d

    def unix_time(self):
        return 1795435200 + self.t // 1000
