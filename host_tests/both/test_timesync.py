"""SNTP step against the fake NTP server on 127.0.0.1 (both interpreters)."""

import os

from devicepair import timesync
from devicepair.errors import NetworkError

FIXED_UNIX = 1795435200  # fake_ntp.FIXED_UNIX: 2026-11-23 12:00:00 UTC


def _port():
    return int(os.getenv("DEVICEPAIR_TEST_NTP_PORT"))


class FakeRTC:
    def __init__(self):
        self.value = None

    def datetime(self, t):
        self.value = t


def test_sync_sets_the_rtc():
    rtc = FakeRTC()
    t = timesync.sync(rtc, "127.0.0.1", port=_port())
    assert t == FIXED_UNIX
    assert rtc.value == (2026, 11, 23, 0, 12, 0, 0, 0)  # Monday = 0


def test_sync_without_rtc_only_returns_the_time():
    assert timesync.sync(None, "localhost", port=_port()) == FIXED_UNIX


class _Sock:
    """Wraps the real socket module to send a chosen first byte (test hook)."""

    def __init__(self, first):
        import socket
        self._s = socket
        self.first = first
        self.AF_INET = socket.AF_INET
        self.SOCK_DGRAM = socket.SOCK_DGRAM

    def getaddrinfo(self, *a):
        return self._s.getaddrinfo(*a)

    def socket(self, *a):
        s = self._s.socket(*a)
        first = self.first

        class S:
            def settimeout(self, t):
                s.settimeout(t)

            def sendto(self, pkt, addr):
                pkt[0] = first
                s.sendto(pkt, addr)

            def recv(self, n):
                return s.recv(n)

            def close(self):
                s.close()
        return S()


def _err(first, timeout_ms=3000):
    try:
        timesync.query("127.0.0.1", _port(), timeout_ms, socket_module=_Sock(first))
    except NetworkError as e:
        return str(e)
    raise AssertionError("accepted a bad reply")


def test_bad_replies_are_network_errors():
    assert _err(0x1C) == "NTP: bad answer from 127.0.0.1"  # kiss-of-death, stratum 0
    assert _err(0x1D) == "NTP: bad answer from 127.0.0.1"  # short reply
    assert _err(0x1E, 300) == "NTP: no answer from 127.0.0.1"  # silence -> timeout


def test_dns_failure():
    try:
        timesync.query("no-such-host.invalid", timeout_ms=500)
        raise AssertionError("resolved?")
    except NetworkError as e:
        assert str(e) == "NTP: DNS lookup failed for no-such-host.invalid"
