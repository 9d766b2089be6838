"""ESP32-C3 DevKitM-1.

| part   | pin                                                   |
|--------|-------------------------------------------------------|
| OLED   | I2C0 SDA GPIO5, SCL GPIO6 (GPIO8/9 are strapping pins) |
| button | BOOT button, GPIO9 (to GND)                           |
| LED    | RGB WS2812 on GPIO8                                   |
"""

NAME = "ESP32-C3 DevKitM"
I2C_ID, SDA, SCL = 0, 5, 6
BUTTON = 9
LED = 8


def build(cfg=None, machine=None, network=None, ssd1306=None, neopixel=None):
    from devicepair.parts import build as _build

    if machine is None:
        import machine
        import network
        import neopixel
        try:
            import ssd1306  # pyright: ignore[reportMissingImports] - installed by mip
        except ImportError:
            ssd1306 = None
    return _build(NAME, cfg, machine, network, ssd1306, I2C_ID, SDA, SCL, BUTTON, LED,
                  neopixel=neopixel)
