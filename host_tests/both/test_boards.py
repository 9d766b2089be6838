"""Each board module builds the right parts from the right pins (both interpreters).

The hardware modules are small fakes passed to ``build``: they record which pins, bus and
driver the board asked for, and an I2C bus can be empty (no OLED -> serial screen).
"""

from boards import esp32, esp32s3, esp32c3, picow
from devicepair.parts import NeoLED


class _Pin:
    IN, OUT, PULL_UP = 1, 3, 2

    def __init__(self, id, mode=None, pull=None):
        self.id, self.mode, self.pull = id, mode, pull

    def value(self, v=None):
        return 1


class _I2C:
    def __init__(self, id, sda, scl, freq):
        self.id, self.sda, self.scl, self.freq = id, sda.id, scl.id, freq
        self.devices = []

    def scan(self):
        return self.devices


class FakeMachine:
    Pin = _Pin

    def __init__(self, devices=(0x3C,)):
        self.devices = list(devices)
        self.i2c = None

    def I2C(self, id, sda, scl, freq):
        self.i2c = _I2C(id, sda, scl, freq)
        self.i2c.devices = self.devices
        return self.i2c

    def RTC(self):
        return "rtc"


class FakeNetwork:
    STA_IF = 0

    def WLAN(self, iface):
        return ("wlan", iface)


class FakeSSD1306:
    def SSD1306_I2C(self, w, h, i2c, addr=0x3C):
        return ("oled", w, h, addr)


class FakeNeoPixel:
    def NeoPixel(self, pin, n):
        return [pin, n]


class Cfg:
    oled_height = 32


def _build(mod, devices=(0x3C,), cfg=None, **extra):
    m = FakeMachine(devices)
    parts = mod.build(cfg, m, FakeNetwork(), FakeSSD1306(), **extra)
    return parts, m


def test_esp32_devkit_pins():
    p, m = _build(esp32)
    assert (m.i2c.id, m.i2c.sda, m.i2c.scl, m.i2c.freq) == (0, 21, 22, 400000)
    assert p.display == ("oled", 128, 64, 0x3C)
    assert (p.button_pin.id, p.button_pin.mode, p.button_pin.pull) == (0, 1, 2)
    assert p.button_irq and p.led.id == 2 and p.wlan == ("wlan", 0) and p.rtc == "rtc"


def test_no_oled_falls_back_to_serial_with_a_reason():
    p, _ = _build(esp32, devices=())
    assert p.display is None and p.note == "no OLED on I2C (found [])"
    p, _ = _build(esp32, devices=(0x3D, 0x50))
    assert p.display == ("oled", 128, 64, 0x3D)
    m = FakeMachine()
    p = esp32.build(None, m, FakeNetwork(), None)
    assert p.display is None and "mip install ssd1306" in p.note


def test_128x32_oled_from_config():
    p, _ = _build(esp32, cfg=Cfg())
    assert p.display == ("oled", 128, 32, 0x3C) and p.height == 32


def test_esp32s3_and_c3_use_the_rgb_led():
    p, m = _build(esp32s3, neopixel=FakeNeoPixel())
    assert (m.i2c.sda, m.i2c.scl, p.button_pin.id) == (8, 9, 0)
    assert isinstance(p.led, NeoLED) and p.led.np[0].id == 48
    p, m = _build(esp32c3, neopixel=FakeNeoPixel())
    assert (m.i2c.sda, m.i2c.scl, p.button_pin.id) == (5, 6, 9)
    assert p.led.np[0].id == 8


def test_neoled_switches_colour():
    writes = []

    class NP(list):
        def write(self):
            writes.append(self[0])
    led = NeoLED(NP([None]))
    led.value(1)
    led.value(1)
    led.value(0)
    assert writes == [(0, 0, 24), (0, 0, 0)] and led.value() == 0


def test_picow_gpio_button_and_bootsel():
    p, m = _build(picow, rp2=None)
    assert (m.i2c.sda, m.i2c.scl, p.button_pin.id, p.led.id) == (4, 5, 15, "LED")
    picow.USE_BOOTSEL = True
    try:
        class RP2:
            pressed = 1

            def bootsel_button(self):
                return self.pressed
        rp2 = RP2()
        p, _ = _build(picow, rp2=rp2)
        assert not p.button_irq
        assert p.button_pin.value() == 0  # pressed reads as active-low 0
        rp2.pressed = 0
        assert p.button_pin.value() == 1
    finally:
        picow.USE_BOOTSEL = False
