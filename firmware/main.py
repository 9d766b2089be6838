"""devicepair firmware entry: read config.json, build the board, run the pairing app.

``board.py`` (copied from boards/ by ``make deploy BOARD=...``) names the pins; everything
else is lib/devicepair. A config error, a missing board module or any crash is shown on the
serial console (and the OLED when there is one) and retried with a growing pause by
``runner.run``: the board never sits in a tight crash loop, and Ctrl-C reaches the REPL.
"""

import gc

from devicepair import __version__
from devicepair.clock import SystemClock

_PREFIX = "[devicepair] "


def log(msg):
    print(_PREFIX + msg)


def read_ca(path):
    if not path:
        return None
    with open(path, "rb") as f:
        return f.read()


def make_app(clock, board=None, config_path="config.json"):
    """Everything the app needs, built from config.json and the board module."""
    from devicepair.config import load_config
    from devicepair.screen import Tee
    from devicepair.screen_serial import SerialScreen
    from devicepair.screen_oled import OledScreen
    from devicepair.app import App
    from devicepair.http import Transport
    from devicepair.tokens import TokenStore
    from devicepair.providers import resolve
    from devicepair import timesync

    cfg = load_config(config_path)
    if board is None:
        import board
    parts = board.build(cfg)
    if parts.note:
        log(parts.note)
    screen = SerialScreen()
    if parts.display is not None:
        screen = Tee(OledScreen(parts.display, parts.width, parts.height), screen)
    wifi = button = None
    if parts.wlan is not None:
        from devicepair.wifi import WiFi

        wifi = WiFi(parts.wlan, cfg.wifi, clock, parts.net, screen.status, cfg.hostname,
                    cfg.country)
    if parts.button_pin is not None:
        from devicepair.button import Button

        button = Button(parts.button_pin, clock, use_irq=parts.button_irq)
    transport = Transport(cadata=read_ca(cfg.ca_file),
                          allow_insecure_http=cfg.allow_insecure_http)
    gc.collect()
    return App(cfg, screen, clock, transport, TokenStore(cfg.token_file, clock=clock),
               resolve(cfg), button, wifi, parts.led, parts.rtc, timesync.sync, __version__,
               log)


def crash_screen(msg):
    log("error: " + msg)


def main(board=None, config_path="config.json", max_steps=None):
    from devicepair import runner

    clock = SystemClock()
    log("devicepair %s starting" % __version__)
    return runner.run(lambda: make_app(clock, board, config_path), clock, log, crash_screen,
                      max_steps)


if __name__ == "__main__":
    main()
