"""What a board is made of, and the one way to build it from pin numbers.

A board module (boards/*.py) only names its pins and calls ``build``; the hardware modules
(``machine``, ``network``, ``ssd1306``) are passed in, so host tests hand in fakes. A missing
OLED (nothing answers on I2C, or the driver is not installed) gives ``display=None`` and the
firmware falls back to the serial screen: a board never fails to boot for want of a display.
"""

OLED_ADDRS = (0x3C, 0x3D)


class Parts:
    def __init__(self, name, display=None, width=128, height=64, button_pin=None,
                 button_irq=True, led=None, wlan=None, net=None, rtc=None, note=None,
                 framebuf=None):
        self.name = name
        self.display = display
        self.width = width
        self.height = height
        self.button_pin = button_pin
        self.button_irq = button_irq
        self.led = led
        self.wlan = wlan
        self.net = net
        self.rtc = rtc
        self.note = note  # why a part is missing, for the serial log
        self.framebuf = framebuf  # None: the port's own framebuf module draws the OLED

    def __repr__(self):
        return "<Parts %s display=%s button=%s led=%s>" % (
            self.name, "yes" if self.display else "no", "yes" if self.button_pin else "no",
            "yes" if self.led else "no")


def find_oled(i2c, driver, width=128, height=64):
    """An SSD1306 on the bus, or (None, reason)."""
    if driver is None:
        return None, "ssd1306 driver not installed (mpremote mip install ssd1306)"
    try:
        found = i2c.scan()
    except OSError as e:
        return None, "I2C scan failed (%s)" % e
    for addr in OLED_ADDRS:
        if addr in found:
            try:
                return driver.SSD1306_I2C(width, height, i2c, addr=addr), None
            except OSError as e:
                return None, "OLED at 0x%02x did not answer (%s)" % (addr, e)
    return None, "no OLED on I2C (found %s)" % [hex(a) for a in found]


class NeoLED:
    """A one-pixel WS2812 (ESP32-S3/C3 DevKits) as an on/off LED."""

    def __init__(self, np, color=(0, 0, 24)):
        self.np = np
        self.color = color
        self._v = 0

    def value(self, v=None):
        if v is None:
            return self._v
        if v != self._v:
            self._v = v
            self.np[0] = self.color if v else (0, 0, 0)
            self.np.write()


def build(name, cfg, machine, network, ssd1306, i2c_id, sda, scl, button=None, led=None,
          neopixel=None, bootsel=None):
    """The standard board: OLED on I2C, one active-low button, a LED, the station WLAN."""
    Pin = machine.Pin
    height = getattr(cfg, "oled_height", 64) or 64
    i2c = machine.I2C(i2c_id, sda=Pin(sda), scl=Pin(scl), freq=400000)
    display, note = find_oled(i2c, ssd1306, 128, height)
    pin, irq = None, False  # no button: no interrupt
    if bootsel is not None:
        from .button import BootselPin

        pin, irq = BootselPin(bootsel), False
    elif button is not None:
        pin, irq = Pin(button, Pin.IN, Pin.PULL_UP), True
    light = None
    if neopixel is not None and led is not None:
        light = NeoLED(neopixel.NeoPixel(Pin(led, Pin.OUT), 1))
    elif led is not None:
        light = Pin(led, Pin.OUT)
    return Parts(name, display, 128, height, pin, irq, light, network.WLAN(network.STA_IF),
                 network, machine.RTC(), note)
