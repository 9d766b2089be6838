"""A stand-in for micropython-lib's ``ssd1306`` driver, for test_mip_install's local index.

This project keeps no copy of the real driver and a test fetches nothing from outside
127.0.0.1, so the local mirror of micropython-lib's package index serves this module as
``ssd1306``. It has the real driver's shape where devicepair touches it:
``SSD1306_I2C(width, height, i2c, addr=0x3C)`` is a ``framebuf.FrameBuffer`` whose
``show()`` writes the whole frame to the bus with ``writevto``. It does not initialise a
real panel (no command sequence); it is not a display driver.
"""

import framebuf


class SSD1306_I2C(framebuf.FrameBuffer):
    def __init__(self, width, height, i2c, addr=0x3C, external_vcc=False):
        self.width = width
        self.height = height
        self.i2c = i2c
        self.addr = addr
        self.buffer = bytearray(height // 8 * width)
        super().__init__(self.buffer, width, height, framebuf.MONO_VLSB)
        i2c.writeto(addr, b"\x00\xae")  # a command byte: the bus must answer, as on a board

    def show(self):
        self.i2c.writevto(self.addr, (b"\x40", self.buffer))
