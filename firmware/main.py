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
_MAX_LOG = 200
_MAX_CA = 16384
_GC_EVERY = 4096  # bytes allocated between two collections (gc.threshold), see make_app
_crash = [None]  # the screen a crash is shown on (set as soon as the board's display is up)


def log(msg):
    """One serial line: server text in it (codes, URIs, error descriptions) cannot move the
    cursor, ring, or forge a second line - control characters become "?", 200 chars at most."""
    msg = str(msg)[:_MAX_LOG]
    for c in msg:  # the common case allocates nothing: a low heap must still be able to log
        if c < " " or "\x7f" <= c < "\xa0":
            msg = "".join([c if " " <= c and not "\x7f" <= c < "\xa0" else "?" for c in msg])
            break
    print(_PREFIX + msg)


def read_ca(path):
    """The CA certificate(s) in DER, at most 16 KB (a whole chain of roots fits)."""
    if not path:
        return None
    import os
    from devicepair.errors import ConfigError

    try:
        size = os.stat(path)[6]
    except OSError:
        raise ConfigError("ca_file", "%s is missing: copy it to the board" % path)
    if size > _MAX_CA:  # checked first: read(n) allocates all n bytes at once on a board
        raise ConfigError("ca_file", "is larger than %d bytes" % _MAX_CA)
    with open(path, "rb") as f:
        return f.read(size)


class _Defaults:
    """What board.build needs of a config that failed to load: the display's defaults."""

    oled_height = 64


def make_screen(parts, clock):
    """The serial screen, plus the OLED when the board has one."""
    from devicepair.screen_serial import SerialScreen

    screen = SerialScreen()
    if parts.display is not None:  # the OLED's code only on boards that have one
        from devicepair.screen import Tee
        from devicepair.screen_oled import OledScreen

        screen = Tee(OledScreen(parts.display, parts.width, parts.height, clock=clock,
                                framebuf=parts.framebuf), screen)
    return screen


def _settle(cfg, task):
    """What the app keeps of the config: (client, CA, task, the few settings it reads)."""
    from devicepair.errors import ConfigError
    from devicepair.providers import resolve

    client = resolve(cfg)
    cadata = read_ca(cfg.ca_file)
    if task is None and cfg.task:
        from devicepair.task import load

        try:
            task = load(cfg.task)
        except ImportError as e:
            raise ConfigError("task", 'module "%s" could not be imported (%s)' % (cfg.task, e))
    setup = getattr(task, "setup", None) if task is not None else None
    if setup is not None:  # the task's own settings, config.json "task_args"
        try:
            setup(cfg.task_args)
        except (KeyError, ValueError, TypeError) as e:
            raise ConfigError("task_args", "refused by the task (%s: %s)"
                              % (type(e).__name__, e))
    return client, cadata, task, (cfg.wifi, cfg.hostname, cfg.country,
                                  cfg.allow_insecure_http, cfg.token_file, cfg.ntp_host,
                                  cfg.pairing_file)


def make_app(clock, board=None, config_path="config.json", task=None):
    """Everything the app needs, built from config.json and the board module. ``task``: your
    own code to run beside the app (see lib/devicepair/task.py); default: config's "task"."""
    if hasattr(gc, "threshold"):  # MicroPython
        # Collect after every 4 KB allocated, not only once the heap is full: garbage goes
        # while it is small, so what stays (code, the code on screen, tokens) fills the holes
        # it leaves instead of splitting the heap - a token response needs unbroken blocks.
        # make bench: whole app, fresh pairing, 104 -> 92 KB on the Pico W stand-in.
        gc.threshold(_GC_EVERY)
    from devicepair.config import load_config
    from devicepair.errors import ConfigError

    if board is None:
        import board
    try:
        cfg = load_config(config_path)
    except ConfigError:
        # the board's display first, so the mistake is on the OLED and not only on serial
        _crash[0] = make_screen(board.build(_Defaults()), clock)
        raise
    parts = board.build(cfg)
    try:  # the boot-only part first, so what stays loaded is packed in one piece of heap
        client, cadata, task, keep = _settle(cfg, task)
    except Exception:
        _crash[0] = make_screen(parts, clock)  # shown on the OLED too
        raise
    del cfg
    import devicepair

    for n in ("config", "providers", "parts"):  # boot-only: ~10 KB of bytecode on a board
        devicepair.forget(n)
    gc.collect()
    ssids, hostname, country, insecure, token_file, ntp_host, pairing_file = keep
    if parts.note:
        log(parts.note)
    screen = _crash[0] = make_screen(parts, clock)
    from devicepair.app import App
    from devicepair.http import Transport
    from devicepair.session import Session
    from devicepair.tokens import TokenStore
    from devicepair import timesync

    wifi = button = None
    if parts.wlan is not None:
        from devicepair.wifi import WiFi

        wifi = WiFi(parts.wlan, ssids, clock, parts.net, screen.status, hostname, country)
    if parts.button_pin is not None:
        from devicepair.button import Button

        button = Button(parts.button_pin, clock, use_irq=parts.button_irq)
    transport = Transport(cadata=cadata, allow_insecure_http=insecure)
    session = Session(TokenStore(token_file, clock=clock), transport, client, clock, log)
    runner = None
    if task is not None:
        from devicepair.task import TaskRunner

        runner = TaskRunner(task, session, screen, clock, log)
    app = App(screen, clock, session, button=button, wifi=wifi, led=parts.led, rtc=parts.rtc,
              timesync=timesync.sync, ntp_host=ntp_host, pairing_file=pairing_file,
              task=runner,
              version=__version__, log=log)
    gc.collect()
    return app


def crash_screen(msg):
    log("error: " + msg)
    if _crash[0] is not None:
        _crash[0].error(msg)


def main(board=None, config_path="config.json", max_steps=None, task=None):
    """Run the app forever (``max_steps``: tests). ``task``: your code, see make_app."""
    from devicepair import runner

    clock = SystemClock()
    log("devicepair %s starting" % __version__)
    return runner.run(lambda: make_app(clock, board, config_path, task), clock, log,
                      crash_screen, max_steps)


if __name__ == "__main__":
    main()
