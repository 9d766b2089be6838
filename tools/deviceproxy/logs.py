"""Structured logs: one JSON object per line on stderr, and never a secret in them.

``event(name, **fields)`` is the only way the proxy logs. Fields are what an operator needs
(the route, the status, the milliseconds, the client address, a pairing's short hash id);
the callers never pass device codes, user codes, authorization codes, ``state``, PKCE
verifiers or tokens, and as a second line of defence any field whose name looks like one of
those is dropped here, whatever its value.
"""

import json
import logging
import sys
import time

log = logging.getLogger("deviceproxy")
_SECRET_NAMES = ("token", "code", "secret", "state", "verifier", "password", "cookie",
                 "authorization")
_ALLOWED = ("client_id", "status")


def setup(level=logging.INFO, stream=None):
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False


def event(name, level="info", **fields):
    lvl = getattr(logging, level.upper(), logging.INFO)
    if not log.isEnabledFor(lvl):
        return
    rec = {"ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + "Z", "level": level,
           "event": name}
    for k, v in fields.items():
        low = k.lower()
        if k not in _ALLOWED and any(s in low for s in _SECRET_NAMES):
            continue
        rec[k] = v
    log.log(lvl, json.dumps(rec))
