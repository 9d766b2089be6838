"""Set the board's clock with one SNTP query before the first HTTPS request.

TLS checks certificate dates against the RTC, which starts at 2000 (or 1970) after a power
cut, so every certificate would look "not yet valid". One UDP request to an NTP server,
bounded by a timeout, validated (server mode, non-zero stratum, sane time), then written to
the RTC. It never loops or sleeps: on failure the caller shows the error and retries later.
"""

import socket
import struct
import time

from .errors import NetworkError

_NTP_DELTA = 2208988800  # 1900-01-01 -> 1970-01-01
_SANE = 1704067200  # 2024-01-01: anything earlier is a bad reply
_EPOCH_2000 = 946684800


def query(host="pool.ntp.org", port=123, timeout_ms=3000, socket_module=None):
    """Ask one NTP server; returns Unix seconds. Raises NetworkError."""
    so = socket_module or socket
    try:
        addr = so.getaddrinfo(host, port, 0, so.SOCK_DGRAM)[0][-1]
    except OSError:
        raise NetworkError("NTP: DNS lookup failed for " + host)
    pkt = bytearray(48)
    pkt[0] = 0x1B  # LI 0, version 3, mode 3 (client)
    s = so.socket(so.AF_INET, so.SOCK_DGRAM)
    try:
        s.settimeout(timeout_ms / 1000)
        s.sendto(pkt, addr)
        data = s.recv(64)
    except OSError:
        raise NetworkError("NTP: no answer from " + host)
    finally:
        s.close()
    if len(data) < 48 or data[0] & 7 not in (4, 5) or data[1] == 0:
        raise NetworkError("NTP: bad answer from " + host)
    t = struct.unpack("!I", data[40:44])[0] - _NTP_DELTA
    if t < _SANE:
        raise NetworkError("NTP: implausible time from " + host)
    return t


def set_rtc(rtc, unix):
    """Write Unix seconds to a ``machine.RTC`` (whatever the port's epoch)."""
    secs = unix - _EPOCH_2000 if time.gmtime(0)[0] == 2000 else unix
    y, mo, d, h, mi, s, wd = time.gmtime(secs)[:7]
    rtc.datetime((y, mo, d, wd, h, mi, s, 0))


def sync(rtc, host="pool.ntp.org", **kw):
    """Query and, when a board RTC is given, set it. Returns Unix seconds."""
    t = query(host, **kw)
    if rtc is not None:
        set_rtc(rtc, t)
    return t
