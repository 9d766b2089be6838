"""ESP32 DevKit (ESP32-WROOM-32 / DevKitC V4).

| part   | pin                          |
|--------|------------------------------|
| OLED   | I2C0 SDA GPIO21, SCL GPIO22  |
| button | BOOT button, GPIO0 (to GND)  |
| LED    | GPIO2 (blue, active high)    |
"""

NAME = "ESP32 DevKit"
I2C_ID, SDA, SCL = 0, 21, 22
BUTTON = 0
LED = 2


def build(cfg=None, machine=None, network=None, ssd1306=None):
    from devicepair.parts import build as _build

    if machine is None:
        import machine
        import network
        try:
            import ssd1306  # pyright: ignore[reportMissingImports] - installed by mip
        except ImportError:
            ssd1306 = None
    return _build(NAME, cfg, machine, network, ssd1306, I2C_ID, SDA, SCL, BUTTON, LED)
