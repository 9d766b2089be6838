"""Pair, refresh, unpair, again and again, in ONE MicroPython process: the whole app as
firmware/main.py builds it (config, providers.resolve, Transport, the token store and the
pairing in flight on real files, Session, OLED screen on a real framebuf with its QR code,
Tee'd with the serial screen, App) against the scripted server. A leak or a fragmenting
allocation that one pairing hides shows after hundreds.

Usage: micropython -X heapsize=N soak_app.py BASE_URL DIR CYCLES
Prints ``FREE <cycle> <gc.mem_free()>`` after the first and the last cycle (collected), then
``SOAK <cycles> cycles``. Any MemoryError, a stuck state or a wrong screen ends it with a
traceback and status 1. host_tests/test_soak.py runs it; ``make soak`` runs 1,000 cycles.
"""

import gc
import sys

import framebuf

from devicepair.app import App
from devicepair.config import Config
from devicepair.http import Transport
from devicepair.providers import resolve
from devicepair.session import Session
from devicepair.tokens import TokenStore

from devicepair.screen import Tee
from devicepair.screen_oled import OledScreen
from devicepair.screen_serial import SerialScreen


class Clock:
    """Fake time (the waits are skipped) with the real signed wrap-around."""

    def __init__(self):
        self.t = (1 << 30) - 5000
        self.unix0 = 1795435200
        self.ms = 0

    def ticks_ms(self):
        return self.t

    def ticks_diff(self, a, b):
        return ((a - b + (1 << 29)) & ((1 << 30) - 1)) - (1 << 29)

    def ticks_add(self, a, d):
        return (a + d) & ((1 << 30) - 1)

    def advance(self, ms):
        self.t = (self.t + ms) & ((1 << 30) - 1)
        self.ms += ms

    def sleep_ms(self, ms):
        self.advance(max(0, ms))

    def unix_time(self):
        return self.unix0 + self.ms // 1000


class Oled(framebuf.FrameBuffer):  # what the ssd1306 driver is, minus the I2C writes
    def __init__(self):
        self.buf = bytearray(128 * 64 // 8)
        super().__init__(self.buf, 128, 64, framebuf.MONO_VLSB)

    def show(self):
        pass


class Button:
    long_ms = 3000
    pressed = False

    def __init__(self):
        self.ev = None

    def poll(self):
        ev, self.ev = self.ev, None
        return ev

    def held_ms(self):
        return 0


def until(app, clock, cond, jump_ms, limit=2000):
    for _ in range(limit):
        if cond():
            return
        clock.advance(max(jump_ms, app.step()))
    raise AssertionError("stuck in %s" % app.state)


def main(base, d, cycles):
    cfg = Config.from_dict({"wifi": [{"ssid": "soak", "password": "soaksoak"}],
                            "client_id": "soak-client", "allow_insecure_http": True,
                            "device_authorization_endpoint": base + "/device",
                            "token_endpoint": base + "/token",
                            "userinfo_endpoint": base + "/me",
                            "token_file": d + "/tokens.json"})
    clock = Clock()
    shown = []
    screen = Tee(OledScreen(Oled(), 128, 64, clock),
                 SerialScreen(write=lambda s: shown.append(s) if len(shown) < 4 else None))
    session = Session(TokenStore(cfg.token_file, clock=clock),
                      Transport(allow_insecure_http=True), resolve(cfg), clock)
    app = App(screen, clock, session, button=Button(), pairing_file=d + "/pairing.json")
    del cfg
    first = None
    for n in range(1, cycles + 1):
        until(app, clock, lambda: app.state == "idle", 25)
        app.button.ev = "short"
        until(app, clock, lambda: app.state == "polling", 25)
        until(app, clock, lambda: app.state == "paired", 5000)
        assert app.name == "Ada Lovelace", app.name
        at = session.tokens["access_token"]
        # the token lives 200 s: refreshed once 120 s before its end
        until(app, clock, lambda at=at: session.tokens["access_token"] != at, 20000)
        assert app.state == "paired", app.state
        app.button.ev = "long"
        until(app, clock, lambda: app.state == "confirm_unpair", 25)
        app.button.ev = "short"
        until(app, clock, lambda: app.state == "idle", 25)
        assert not session.paired
        if n == 1 or n == cycles:
            gc.collect()
            free = gc.mem_free()
            first = free if first is None else first
            print("FREE %d %d" % (n, free))
    print("SOAK %d cycles" % cycles)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
