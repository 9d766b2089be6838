"""The token store: what pairing produced, kept on flash across reboots as a small JSON file.

Losing it means pairing again; corrupting it must never brick the app. So ``save`` writes
``<path>.tmp`` completely, closes it, then renames it over the old file: a power cut at any
point leaves the complete old set or the complete new one. Where rename over an existing file
fails, the old file is removed only after the temp file is complete, and ``load`` finishes
that job from the leftover temp file. ``load`` never raises: an unreadable file gives None
and a readable ``last_error``. Only what is needed is stored (no id_token, which can be over
1 KB), the file is refused above 8 KB, and nothing here prints or repr()s a token.

Expiry: ``expires_at`` (Unix seconds) is stored when the wall clock is set; a ticks deadline
is kept in RAM too, so a fresh token is usable in this boot before NTP. After a reboot
without wall time a token counts as expired (refresh first).
"""

import json
import os

from devicepair.clock import SystemClock

MAX_FILE = 8192
NO_EXPIRY = -1  # expires_at when the server gave no expires_in
_ENOENT = 2
_NOMEM = "not enough memory to read it"  # the file may be fine: never delete it for this
# ticks_diff is only meaningful within 2**29 ms (~6.2 days): cap the in-RAM deadline.
_MAX_TICKS_S = 5 * 86400
_KEEP = ("access_token", "refresh_token", "token_type", "scope", "name")


class LocalFS:
    """The real filesystem, in the small interface TokenStore and tests' FakeFS share."""

    def open(self, path, mode):
        return open(path, mode)

    def rename(self, a, b):
        os.rename(a, b)

    def remove(self, path):
        os.remove(path)

    def stat(self, path):
        return os.stat(path)

    def sync(self):
        """Flush the filesystem's caches to flash where the port can (MicroPython's
        ``os.sync``; CPython's ``os.sync`` on POSIX)."""
        fn = getattr(os, "sync", None)
        if fn is not None:
            fn()

    def __repr__(self):
        return "<LocalFS>"


def _expires_in(v):
    """Seconds as an int, from an int or a digit string (some servers send "3600")."""
    if isinstance(v, str) and v.isdigit() and len(v) < 10:
        v = int(v)
    if type(v) is float and 0 <= v < 1e9:
        v = int(v)
    if type(v) is int and v >= 0:
        return v
    return None


def _check(d):
    """None when ``d`` is a stored token set with the right types, else what is wrong."""
    if not isinstance(d, dict):
        return "not a JSON object"
    if not isinstance(d.get("access_token"), str) or not d["access_token"]:
        return "no access token"
    for k in ("refresh_token", "token_type", "scope", "name"):
        v = d.get(k)
        if v is not None and not isinstance(v, str):
            return k + " is not text"
    v = d.get("expires_at")
    if v is not None and type(v) is not int:
        return "expires_at is not a number"
    return None


def _replace(fs, tmp, path):
    """Move the complete temp file over the main file."""
    try:
        fs.rename(tmp, path)
    except OSError:
        # rename over an existing file refused here: the temp file is complete, so
        # removing the old one is safe (load() recovers from the temp file).
        try:
            fs.remove(path)
        except OSError:
            pass
        fs.rename(tmp, path)


def _sync(fs):
    fn = getattr(fs, "sync", None)
    if fn is not None:
        fn()


def atomic_write(fs, path, data):
    """``data`` into ``path`` so that a power cut leaves the old file or the new one:
    ``path.tmp`` written, flushed and synced, then renamed over ``path``. OSError when flash
    refuses (the temp file is removed again; the old file is untouched)."""
    tmp = path + ".tmp"
    f = fs.open(tmp, "wb")
    try:
        try:
            n = f.write(data)
            if n is not None and n != len(data):
                raise OSError(28)  # a short write: flash full
            f.flush()
        finally:
            f.close()
        _sync(fs)  # the data on flash before the rename makes it the one
    except OSError:
        try:  # an incomplete temp file: drop it now (load() would ignore it anyway)
            fs.remove(tmp)
        except OSError:
            pass
        raise
    _replace(fs, tmp, path)
    try:
        _sync(fs)  # the rename itself on flash too
    except OSError:
        pass  # the new file is in place; the next sync (or the port's own) writes it


def merge_refresh(old, new):
    """A refresh response completed from the set it replaces: the fields it omits
    (refresh_token, scope, name) are kept."""
    merged = dict(new)
    if old:
        for k in ("refresh_token", "scope", "name"):
            if not merged.get(k) and old.get(k):
                merged[k] = old[k]
    return merged


class TokenStore:
    """``save``/``load``/``clear`` one token set; ``access_valid`` says if it can be used."""

    def __init__(self, path="tokens.json", fs=None, clock=None):
        self.path = path
        self.tmp = path + ".tmp"
        self.fs = fs if fs is not None else LocalFS()
        self.clock = clock if clock is not None else SystemClock()
        self.last_error = None
        self._mem_token = None  # the access token the RAM deadline belongs to
        self._mem_deadline = None

    def __repr__(self):
        return "<TokenStore %s>" % self.path

    # -- reading ---------------------------------------------------------------------------

    def _read(self, path):
        """(dict, None) | (None, reason); reason None means the file does not exist."""
        fs = self.fs
        try:
            size = fs.stat(path)[6]
        except OSError as e:
            if e.args and e.args[0] == _ENOENT:
                return None, None
            return None, "cannot stat (%s)" % (e.args[0] if e.args else "?")
        if size > MAX_FILE:
            return None, "file too large (%d bytes)" % size
        try:
            f = fs.open(path, "rb")
            try:
                data = f.read(size + 1)  # MicroPython allocates what is asked for
            finally:
                f.close()
            if len(data) > MAX_FILE:
                return None, "file too large"
            if not data:  # a cut inside a write, or clear() where removing was refused
                return None, "empty file"
            d = json.loads(data.decode())
        except OSError as e:
            return None, "cannot read (%s)" % (e.args[0] if e.args else "?")
        except MemoryError:
            return None, _NOMEM
        except (ValueError, RuntimeError):  # UnicodeError too; RecursionError: nested deep
            return None, "not valid JSON"
        why = _check(d)
        if why:
            return None, why
        out = {"expires_at": d.get("expires_at")}
        for k in _KEEP:
            out[k] = d.get(k)
        return out, None

    def load(self):
        """The stored token set (a dict), or None: unpaired, or unreadable (see last_error).

        A complete leftover ``.tmp`` is newer than the main file (a cut between writing it
        and the rename) and is moved into place; a partial one is removed; one that cannot
        be read (I/O error) is kept, and nothing is loaded until it can.
        """
        self.last_error = None
        tokens, why = self._read(self.tmp)
        if tokens is not None:
            try:
                self._replace()
            except OSError:
                pass  # still readable from the temp file next time
            return tokens
        if why is not None and why[:7] == "cannot ":
            # an I/O error, not a partial file: it may hold the newer set (the main one's
            # refresh token already rotated away). Keep both; nothing is used this boot.
            self.last_error = "stored token unreadable (" + why + "), pair again"
            return None
        if why is not None and why is not _NOMEM:  # a partial temp file: the main is good
            try:
                self.fs.remove(self.tmp)
            except OSError:
                pass
        tokens, why = self._read(self.path)
        if why is not None:
            self.last_error = "stored token unreadable (" + why + "), pair again"
        return tokens

    # -- writing ---------------------------------------------------------------------------

    def _replace(self):
        _replace(self.fs, self.tmp, self.path)

    def save(self, tokens):
        """Store a token endpoint response (or a stored set, e.g. with a new ``name``)
        atomically; returns the stored dict, as ``load`` will return it.

        ValueError (before touching flash) when there is no access token or the result
        would exceed 8 KB; OSError when flash fails (``load`` still finds a complete set).
        """
        return self.write(self.record(tokens))

    def record(self, tokens):
        """The dict ``save`` would store for ``tokens``, without touching flash (a caller
        whose write failed keeps using it from RAM). ValueError as for ``save``."""
        access = tokens.get("access_token") if isinstance(tokens, dict) else None
        if not isinstance(access, str) or not access:
            raise ValueError("token response has no access_token")
        rec = {}
        for k in _KEEP:
            v = tokens.get(k)
            rec[k] = v if isinstance(v, str) else None
        if rec["token_type"] is None:
            rec["token_type"] = "Bearer"
        c = self.clock
        now = c.unix_time()
        life = _expires_in(tokens.get("expires_in"))
        if life is not None:  # a token response
            exp = now + life if now is not None else None
            deadline = c.ticks_add(c.ticks_ms(), min(life, _MAX_TICKS_S) * 1000)
        elif "expires_at" not in tokens and tokens.get("expires_in") is None:  # (GitHub OAuth
            exp = NO_EXPIRY  # apps give no lifetime): usable until the API answers 401
            deadline = None
        else:  # a stored set saved again (say with a new name): keep what is known
            exp = tokens.get("expires_at")
            exp = exp if type(exp) is int else None
            deadline = self._mem_deadline if access == self._mem_token else None
            if exp is None and now is not None and deadline is not None:
                exp = now + c.ticks_diff(deadline, c.ticks_ms()) // 1000
        rec["expires_at"] = exp
        if len(json.dumps(rec)) > MAX_FILE:
            raise ValueError("tokens too large to store")
        self._mem_token = access
        self._mem_deadline = deadline
        return rec

    def write(self, rec):
        """Write a ``record`` atomically (temp file, flush, sync, rename); returns it."""
        atomic_write(self.fs, self.path, json.dumps(rec).encode())
        return rec

    def update_after_refresh(self, old, new):
        """Save a refresh response; fields it omits (refresh_token, scope, name) are kept."""
        return self.save(merge_refresh(old, new))

    def clear(self):
        """Unpair: remove the temp file first, then the token file (missing is fine). Where
        flash refuses the removal, the file is emptied instead (``load`` finds no tokens in an
        empty file), so an unpaired board never comes back paired after a reboot; OSError
        when both fail."""
        self._mem_token = self._mem_deadline = None
        for p in (self.tmp, self.path):
            try:
                self.fs.remove(p)
            except OSError as e:
                if not e.args or e.args[0] != _ENOENT:
                    self.fs.open(p, "wb").close()  # OSError: the caller says so

    # -- expiry ----------------------------------------------------------------------------

    def invalidate(self, tokens):
        """The API refused the access token: treat it as expired from now on."""
        tokens["expires_at"] = 0
        self._mem_token = self._mem_deadline = None

    def access_valid(self, tokens, margin_s=60):
        """True only if the access token is known to stay valid for ``margin_s`` seconds."""
        if not tokens or not tokens.get("access_token"):
            return False
        now = self.clock.unix_time()
        exp = tokens.get("expires_at")
        if exp == NO_EXPIRY:
            return True
        if now is not None and type(exp) is int:
            return exp - now >= margin_s
        if self._mem_deadline is not None and tokens["access_token"] == self._mem_token:
            c = self.clock
            return c.ticks_diff(self._mem_deadline, c.ticks_ms()) >= margin_s * 1000
        return False
