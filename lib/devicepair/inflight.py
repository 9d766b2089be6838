"""The pairing in flight, kept on flash so a reset while the code is on screen resumes it.

A brown-out or watchdog reset during pairing would otherwise throw away a code the user may
already have typed. ``save`` writes the device code, user code, URIs, interval and deadline
(as wall-clock time: ticks restart at a reset) to its own file - never the tokens' - with the
token store's atomic write; ``resume`` reads it back after the next boot and, when every value
passes the same checks a fresh answer passes and the deadline is still ahead, makes the
DeviceFlow poll that code again; anything else is dropped silently. The app loads this module
only for these calls and forgets it again: it costs no heap while polling. The device code is
a credential for this pairing: it is never logged.
"""

import json

from .device_flow import _MAX_EXPIRES, _MAX_INTERVAL, _MAX_STR, _safe_uri
from .tokens import atomic_write

_MAX_FILE = 1024


def save(path, fs, flow, unix_now):
    """Keep ``flow``'s code for a reset; False when there is no wall clock (the deadline could
    not be carried over). OSError when flash refuses: the pairing goes on regardless."""
    if unix_now is None:
        return False
    snap = {"device_code": flow.device_code, "user_code": flow.user_code,
            "verification_uri": flow.verification_uri,
            "verification_uri_complete": flow.verification_uri_complete,
            "interval": flow.interval_ms // 1000, "expires_at": unix_now + flow.seconds_left()}
    atomic_write(fs, path, json.dumps(snap).encode())
    return True


def load(path, fs):
    """The saved dict (the complete temp file first: it is the newer one), or None."""
    for p in (path + ".tmp", path):
        try:
            f = fs.open(p, "rb")
            try:
                data = f.read(_MAX_FILE + 1)
            finally:
                f.close()
            d = json.loads(data.decode()) if 0 < len(data) <= _MAX_FILE else None
        except (OSError, ValueError, RuntimeError, MemoryError):
            d = None
        if isinstance(d, dict):
            return d
    return None


def resume(path, fs, flow, unix_now):
    """Make ``flow`` (a fresh DeviceFlow) poll the saved code; False - and the file removed -
    when there is none, it is malformed, the wall clock is unset or the deadline has passed."""
    snap = load(path, fs)
    if snap is None:
        return False
    left = interval = complete = None
    texts = ["", "", ""]
    try:
        left = snap["expires_at"] - unix_now
        interval = snap["interval"]
        texts = [snap[k] for k in ("device_code", "user_code", "verification_uri")]
        complete = snap.get("verification_uri_complete")
    except (KeyError, TypeError):
        left = None
    ok = type(left) is int and type(interval) is int and 1 <= interval <= _MAX_INTERVAL and \
        0 < left <= _MAX_EXPIRES and \
        not [t for t in texts if not isinstance(t, str) or not t or len(t) > _MAX_STR] and \
        not [c for c in texts[1] if not 0x20 <= ord(c) < 0x7F] and \
        _safe_uri(texts[2], None) is not None and \
        (complete is None or _safe_uri(complete, texts[2]) is not None)
    if not ok:
        clear(path, fs)
        return False
    flow.resume_code(texts[0], texts[1], texts[2], complete, interval, left)
    return True


def clear(path, fs):
    for p in (path + ".tmp", path):
        try:
            fs.remove(p)
        except OSError:
            pass
