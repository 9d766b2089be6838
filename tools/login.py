"""Pair from a laptop with the board's own code, before flashing anything.

    python tools/login.py --config config.json [--get URL] [--tokens FILE]
    make login CONFIG=config.json LOGIN_ARGS="--get https://graph.microsoft.com/v1.0/me"

Runs the same ``App``, ``Session``, device flow and provider preset the board runs, under
CPython, with the serial screen on this terminal (the code, the verification URL and the QR
as text): a user checks their client id, scopes and provider settings against the real
provider from a machine that is easy to debug. ``--get URL`` then calls an API with the
session (bearer token, refresh, 401 handling) and prints the status and the start of the
body - never a token. Without ``--tokens`` the tokens are kept in a temporary directory that
is removed at the end; with it they are stored as on a board (``tokens.json`` format).
``ca_file`` in the config is used as on the board; without one, CPython's system CAs verify
https. Ctrl-C cancels. Exit status 0 when paired (and the API call, if any, answered 2xx).
"""

import argparse
import os
import shutil
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "lib"))

from devicepair import __version__  # noqa: E402
from devicepair import app as A  # noqa: E402
from devicepair.clock import SystemClock  # noqa: E402
from devicepair.config import load_config  # noqa: E402
from devicepair.errors import DevicePairError  # noqa: E402
from devicepair.http import Transport  # noqa: E402
from devicepair.providers import resolve  # noqa: E402
from devicepair.screen_serial import SerialScreen  # noqa: E402
from devicepair.session import Session  # noqa: E402
from devicepair.tokens import TokenStore  # noqa: E402

_DONE = (A.PAIRED, A.DENIED, A.EXPIRED)


class _PressOnce:
    """The board's button, pressed once: as soon as the app waits for it."""

    long_ms = 3000
    pressed = False

    def __init__(self):
        self.done = False
        self.app = None

    def poll(self):
        if self.done or self.app is None or self.app.state != A.IDLE:
            return None
        self.done = True
        return "short"

    def held_ms(self):
        return 0


def _clean(text, n=600):
    return "".join(c if c == "\n" or " " <= c < "\x7f" else "?" for c in text[:n])


def login(config, tokens=None, get=None, timeout_s=None, out=print, clock=None):
    """-> exit status. ``timeout_s``: give up after this many seconds (tests)."""
    try:
        cfg = load_config(config)
        client = resolve(cfg)
        cadata = None
        if cfg.ca_file:
            ca = os.path.join(os.path.dirname(os.path.abspath(config)), cfg.ca_file)
            with open(ca, "rb") as f:
                cadata = f.read()
    except (DevicePairError, OSError) as e:
        out("login: %s" % (getattr(e, "message", None) or e))
        return 2
    clock = clock or SystemClock()
    tmp = None
    if tokens is None:
        tmp = tempfile.mkdtemp(prefix="devicepair-login-")
        tokens = os.path.join(tmp, "tokens.json")
    logs = []
    try:
        session = Session(TokenStore(tokens, clock=clock),
                          Transport(cadata=cadata, allow_insecure_http=cfg.allow_insecure_http),
                          client, clock, logs.append)
        screen = SerialScreen(write=out, prefix="")
        button = _PressOnce()
        app = button.app = A.App(screen, clock, session, button=button, log=logs.append,
                                 version=__version__)
        start = clock.ticks_ms()
        while app.state not in _DONE:
            if app.needs_press:
                errors = [m for m in logs if m.startswith("error: ")]
                out("login: failed - %s" % (errors[-1][7:] if errors else "see above"))
                return 1
            if timeout_s is not None and \
                    clock.ticks_diff(clock.ticks_ms(), start) > timeout_s * 1000:
                out("login: gave up after %d s in state %s" % (timeout_s, app.state))
                return 1
            clock.sleep_ms(app.step())
        if app.state != A.PAIRED:
            return 1
        out("login: paired as %s with client %s (scope %s)"
            % (session.name or "?", client.client_id, client.scope))
        if get:
            try:
                r = session.get(get)
            except DevicePairError as e:
                out("login: GET %s: %s" % (get, e.message))
                return 1
            out("login: GET %s -> HTTP %d" % (get, r.status_code))
            out(_clean(bytes(r.content).decode("utf-8", "replace")))
            return 0 if 200 <= r.status_code < 300 else 1
        return 0
    except KeyboardInterrupt:
        out("login: cancelled")
        return 130
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", default="config.json", help="config.json (default: %(default)s)")
    p.add_argument("--get", metavar="URL", help="after pairing, GET this API with the token")
    p.add_argument("--tokens", metavar="FILE",
                   help="keep the tokens in FILE (default: a temporary file, removed)")
    p.add_argument("--timeout", type=float, help="give up after this many seconds")
    a = p.parse_args(argv)
    return login(a.config, a.tokens, a.get, a.timeout)


if __name__ == "__main__":
    sys.exit(main())
