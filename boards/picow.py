"""Raspberry Pi Pico W (and Pico 2 W).

| part   | pin                                                          |
|--------|--------------------------------------------------------------|
| OLED   | I2C0 SDA GP4 (pin 6), SCL GP5 (pin 7)                        |
| button | GP15 (pin 20) to GND; set USE_BOOTSEL = True for BOOTSEL     |
| LED    | the on-board "LED" (driven through the CYW43 Wi-Fi chip)     |

With USE_BOOTSEL the white BOOTSEL button is read with ``rp2.bootsel_button()`` (polled, no
interrupt; reading it briefly stalls flash access, which MicroPython handles).
"""

NAME = "Raspberry Pi Pico W"
I2C_ID, SDA, SCL = 0, 4, 5
BUTTON = 15
LED = "LED"
USE_BOOTSEL = False


def build(cfg=None, machine=None, network=None, ssd1306=None, rp2=None):
    from devicepair.parts import build as _build

    if machine is None:
        import machine
        import network
        import rp2
        try:
            import ssd1306  # pyright: ignore[reportMissingImports] - installed by mip
        except ImportError:
            ssd1306 = None
    bootsel = None
    if USE_BOOTSEL:
        if rp2 is None:  # parts passed in without it: the board's own
            import rp2
        bootsel = rp2.bootsel_button
    return _build(NAME, cfg, machine, network, ssd1306, I2C_ID, SDA, SCL,
                  None if USE_BOOTSEL else BUTTON, LED, bootsel=bootsel)
