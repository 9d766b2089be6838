"""ESP32-S3 DevKitC-1.

| part   | pin                                           |
|--------|-----------------------------------------------|
| OLED   | I2C0 SDA GPIO8, SCL GPIO9                     |
| button | BOOT button, GPIO0 (to GND)                   |
| LED    | RGB WS2812 on GPIO48 (GPIO38 on board v1.1)   |
"""

NAME = "ESP32-S3 DevKitC"
I2C_ID, SDA, SCL = 0, 8, 9
BUTTON = 0
LED = 48


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
