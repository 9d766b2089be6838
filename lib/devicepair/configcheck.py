"""The checks behind config.Config.from_dict and load_config, loaded for them and dropped
again (config.py keeps only the Config attributes): measured 3 KB less heap for the whole
app on the 32-bit stand-ins (make bench), since a board keeps loaded code in RAM.
"""

import gc
import json

from devicepair.errors import ConfigError
from devicepair.urls import check_url
from devicepair.config import (MAX_CONFIG, MAX_WIFI, PROVIDER_PARAMS, KNOWN, _URLS, _RESERVED,
                               _HOST_OK)


def _utf8_len(s):
    n = 0
    for c in s:
        o = ord(c)
        n += 1 if o < 0x80 else 2 if o < 0x800 else 3 if o < 0x10000 else 4
    return n


def _str(d, key, default=None, empty_ok=False):
    v = d.get(key, default)
    if v is None and default is None:
        return None
    if not isinstance(v, str):
        raise ConfigError(key, "must be a string")
    if not v and not empty_ok:
        raise ConfigError(key, "must not be empty")
    return v


def _name(k):
    """A key as it can appear in a message: itself if plain, else quoted (and short)."""
    if isinstance(k, str) and k and not [c for c in k if not 0x20 < ord(c) < 0x7F]:
        return k[:40]
    return repr(k)[:40]


def _unknown(keys, prefix, known):
    for k in keys:
        if not isinstance(k, str):
            raise ConfigError(prefix + _name(k), "is not a known setting")
    for k in sorted(keys):
        if k not in known and not k.startswith("_"):
            raise ConfigError(prefix + _name(k), "is not a known setting (typo?)")


def _wifi(v):
    if isinstance(v, dict):
        nets, names = [v], ["wifi"]
    elif isinstance(v, list) and v:
        nets, names = v, ["wifi[%d]" % i for i in range(len(v))]
    else:
        raise ConfigError("wifi", 'must be a list of {"ssid": ..., "password": ...}')
    if len(nets) > MAX_WIFI:
        raise ConfigError("wifi", "has more than %d networks" % MAX_WIFI)
    out = []
    for net, name in zip(nets, names):
        if not isinstance(net, dict):
            raise ConfigError(name, 'must be {"ssid": ..., "password": ...}')
        _unknown(list(net), name + ".", ("ssid", "password"))
        ssid = net.get("ssid")
        if ssid is None:
            raise ConfigError(name + ".ssid", "is missing")
        if not isinstance(ssid, str) or not 1 <= len(ssid) <= 32:
            raise ConfigError(name + ".ssid", "must be 1-32 characters")
        if _utf8_len(ssid) > 32:
            raise ConfigError(name + ".ssid", "must be at most 32 bytes in UTF-8")
        pw = net.get("password")
        if pw is None:
            raise ConfigError(name + ".password", 'is missing ("" for an open network)')
        if not isinstance(pw, str):
            raise ConfigError(name + ".password", 'must be a string ("" for an open network)')
        if pw and not 8 <= len(pw) <= 63:
            raise ConfigError(name + ".password", "must be 8-63 characters")
        out.append({"ssid": ssid, "password": pw})
    return out


def from_dict(cls, d):
    if not isinstance(d, dict):
        raise ConfigError("config.json", "must hold one JSON object {...}")
    _unknown(list(d), "", KNOWN)
    c = cls()
    if "wifi" not in d:
        raise ConfigError("wifi", "is missing")
    c.wifi = _wifi(d["wifi"])
    h = c.hostname = _str(d, "hostname", c.hostname) or ""  # never "": _str refuses empty
    if len(h) > 32 or h[0] == "-" or h[-1] == "-" or h.strip(_HOST_OK):
        raise ConfigError("hostname", "must be 1-32 letters, digits or '-' (not at the ends)")
    country = _str(d, "country")
    if country is not None:
        if len(country) != 2 or not country.isalpha() or _utf8_len(country) != 2:
            raise ConfigError("country", 'must be a 2-letter country code like "DE"')
        c.country = country.upper()
    c.provider = _str(d, "provider", c.provider)
    for k in PROVIDER_PARAMS:
        v = _str(d, k)
        if v is not None:
            c.provider_params[k] = v
    v = d.get("allow_insecure_http", False)
    if v is not True and v is not False:
        raise ConfigError("allow_insecure_http", "must be true or false")
    c.allow_insecure_http = v
    v = d.get("oled_height", 64)
    if type(v) is not int or v not in (32, 64):
        raise ConfigError("oled_height", "must be 32 or 64 (the OLED's height in pixels)")
    c.oled_height = v
    for k in _URLS:
        if d.get(k) is not None:
            check_url(k, d[k], c.allow_insecure_http)
            setattr(c, k, d[k])
        elif c.provider == "generic" and k in _URLS[:2] and "issuer" not in c.provider_params:
            raise ConfigError(k, 'is missing (provider "generic" needs it or an issuer)')
    c.client_id = _str(d, "client_id")
    if c.client_id is None:
        raise ConfigError("client_id", "is missing")
    c.client_secret = _str(d, "client_secret", empty_ok=True) or None
    c.scope = _str(d, "scope", c.scope, empty_ok=True)
    extra = d.get("extra_params", {})
    if not isinstance(extra, dict):
        raise ConfigError("extra_params", 'must be an object like {"audience": "..."}')
    for k in extra:
        if not isinstance(k, str) or not k:
            raise ConfigError("extra_params", "keys must be non-empty strings")
        if k in _RESERVED:
            raise ConfigError("extra_params." + k, "is set by devicepair itself")
        if not isinstance(extra[k], str):
            raise ConfigError("extra_params." + _name(k), "must be a string")
    c.extra_params = dict(extra)
    c.ca_file = _str(d, "ca_file")
    if c.ca_file is not None and c.ca_file.lower().endswith(".pem"):
        raise ConfigError("ca_file", "must be DER, not PEM (python tools/pem2der.py in out)")
    c.token_file = _str(d, "token_file", c.token_file)
    c.pairing_file = _str(d, "pairing_file", c.pairing_file)
    if c.pairing_file == c.token_file:
        raise ConfigError("pairing_file", "must not be the token_file")
    c.task = _str(d, "task")
    if c.task is not None and (len(c.task) > 40 or c.task[0] in ".0123456789" or
                               c.task.strip(_HOST_OK.replace("-", "_.")) or ".." in c.task):
        raise ConfigError("task", 'must be a module name like "my_task" (my_task.py)')
    args = d.get("task_args", {})
    if not isinstance(args, dict) or len(args) > 16:
        raise ConfigError("task_args",
                          'must be an object like {"url": "..."} (16 keys at most)')
    for k in args:
        v = args[k]
        if not isinstance(k, str) or not k or len(k) > 32:
            raise ConfigError("task_args", "keys must be short non-empty strings")
        if not (type(v) in (int, float, bool) or isinstance(v, str) and len(v) <= 256):
            raise ConfigError("task_args." + _name(k), "must be a number, true/false or a "
                              "string of at most 256 characters")
    c.task_args = dict(args)
    c.ntp_host = _str(d, "ntp_host", c.ntp_host)
    return c


def load_config(cls, path="config.json", fs=None):
    """Read ``path`` (at most 8 KB) through ``fs.open`` (default: the builtin open)."""
    opener = fs.open if fs is not None else open
    parts = []
    n = 0
    try:
        f = opener(path, "rb")
        try:
            while n <= MAX_CONFIG:  # in pieces: never allocate more than the file holds
                b = f.read(512)
                if not b:
                    break
                n += len(b)
                parts.append(b)
        finally:
            f.close()
    except OSError as e:
        if e.args and e.args[0] == 2:
            raise ConfigError(path, "is missing: copy it to the board")
        raise ConfigError(path, "could not be read (%s)" % (e.args[0] if e.args else "?"))
    if n > MAX_CONFIG:
        raise ConfigError(path, "is larger than %d bytes" % MAX_CONFIG)
    try:
        d = json.loads(b"".join(parts).decode())
    except (ValueError, RuntimeError):  # UnicodeError; RecursionError when nested deep
        raise ConfigError(path, "is not valid JSON (check commas and quotes)")
    del parts
    gc.collect()  # the raw text (up to 8 KB) is garbage now
    return from_dict(cls, d)
