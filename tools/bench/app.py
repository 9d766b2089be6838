# The whole pairing app as firmware/main.py builds it, for `make bench` (MicroPython, .mpy):
# Config + providers.resolve + Transport + TokenStore + OledScreen on a real 128x64
# framebuf (Tee'd with the serial screen, QR included) + App; a button press once idle,
# then device code, pending polls, slow_down, tokens, the save and who-am-I.
# argv: BASE_URL TOKEN_PATH. Last line "PAIRED <name>" on success.
import sys
import gc
import framebuf
from devicepair.config import Config
from devicepair.providers import resolve
from devicepair.http import Transport
from devicepair.tokens import TokenStore
from devicepair.screen import Tee
from devicepair.screen_oled import OledScreen
from devicepair.screen_serial import SerialScreen
from devicepair.app import App
from benchclock import Clock

gc.collect()


class Oled(framebuf.FrameBuffer):  # what the ssd1306 driver is, minus the I2C writes
    def __init__(self):
        self.buf = bytearray(128 * 64 // 8)
        super().__init__(self.buf, 128, 64, framebuf.MONO_VLSB)

    def show(self):
        pass


class Button:
    long_ms = 3000
    pressed = False
    ev = None

    def poll(self):
        ev, self.ev = self.ev, None
        return ev

    def held_ms(self):
        return 0


base, path = sys.argv[1], sys.argv[2]
cfg = Config.from_dict({"wifi": [{"ssid": "bench", "password": "benchbench"}],
                        "client_id": "bench-client", "allow_insecure_http": True,
                        "device_authorization_endpoint": base + "/device",
                        "token_endpoint": base + "/token", "userinfo_endpoint": base + "/me"})
clock = Clock()
screen = Tee(OledScreen(Oled(), 128, 64, clock), SerialScreen(write=lambda s: None))
app = App(cfg, screen, clock, Transport(allow_insecure_http=True), TokenStore(path, clock=clock),
          resolve(cfg), Button())
pressed = False
for _ in range(100000):
    if app.state == "idle" and not pressed:
        app.button.ev = pressed = "short"
    if app.state == "paired" or app.state == "error":
        break
    clock.t += max(1, app.step())
assert app.state == "paired", app.state
print("PAIRED", app.name)
