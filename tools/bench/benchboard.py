# The bench's board module (MicroPython, .mpy): what boards/picow.py builds, minus the wires.
# firmware/main.make_app(clock, board, "config.json") gets this module as its board: a 128x64
# framebuf where the ssd1306 driver would be (its buffer, no I2C writes), a button pin the
# bench presses, and a WLAN that joins at once. Same build(cfg) contract as boards/*.py.
import framebuf
import benchclock


class Oled(framebuf.FrameBuffer):
    def __init__(self):
        self.width, self.height = 128, 64
        self.buffer = bytearray(128 * 64 // 8)
        super().__init__(self.buffer, 128, 64, framebuf.MONO_VLSB)

    def show(self):
        pass

    def poweroff(self):
        pass

    def poweron(self):
        pass

    def contrast(self, c):
        pass

    def invert(self, v):
        pass


class Pin:
    """Active low; ``press(ms)`` holds it down for ``ms`` from now on the bench clock."""

    def __init__(self):
        self.down_at = self.up_at = None

    def press(self, ms=120):
        c = benchclock.CLOCK
        self.down_at = c.ticks_ms()
        self.up_at = c.ticks_add(self.down_at, ms)

    def value(self):
        if self.down_at is None:
            return 1
        c = benchclock.CLOCK
        now = c.ticks_ms()
        return 0 if c.ticks_diff(now, self.down_at) >= 0 and c.ticks_diff(self.up_at, now) > 0 \
            else 1


class Net:  # the network module's constants (CYW43 codes, as on a Pico W)
    STA_IF = 0
    STAT_IDLE, STAT_CONNECTING, STAT_GOT_IP = 0, 1, 3
    STAT_CONNECT_FAIL, STAT_NO_AP_FOUND, STAT_WRONG_PASSWORD = -1, -2, -3


class WLAN:
    def __init__(self):
        self._on = False
        self._ssid = None

    def active(self, on=None):
        if on is not None:
            self._on = bool(on)
        return self._on

    def config(self, *a, **kw):
        return None

    def scan(self):
        return [(b"bench", b"\x02\x00\x00\x00\x00\x01", 6, -50, 3, False)]

    def connect(self, ssid, key=None):
        self._ssid = ssid

    def disconnect(self):
        self._ssid = None

    def status(self):
        return Net.STAT_GOT_IP if self._on and self._ssid else Net.STAT_IDLE

    def isconnected(self):
        return self.status() == Net.STAT_GOT_IP

    def ifconfig(self):
        return ("10.0.42.2", "255.255.255.0", "10.0.42.1", "10.0.42.1")


PIN = Pin()


def build(cfg=None):
    from devicepair.parts import Parts

    return Parts("bench board", Oled(), 128, 64, PIN, False, None, WLAN(), Net, None, None)
