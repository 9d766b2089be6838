"""A UDP NTP responder on 127.0.0.1 (CPython only) for timesync tests.

It answers with a fixed time, ``FIXED_UNIX`` (2026-11-23 12:00:00 UTC). A request whose first
byte is 0x1C (a client asking in mode 4, never sent by real clients) is answered as a
kiss-of-death (stratum 0), and one with 0x1D gets a short, malformed reply, so tests can
check the client's validation; 0x1E gets no reply at all.
"""

import socket
import struct
import threading

FIXED_UNIX = 1795435200
_NTP_DELTA = 2208988800


class FakeNTP:
    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self._stop = False
        self._t = threading.Thread(target=self._serve, daemon=True)

    def start(self):
        self._t.start()
        return self

    def _serve(self):
        while not self._stop:
            try:
                data, addr = self.sock.recvfrom(64)
            except OSError:
                continue
            mode = data[0] if data else 0
            if mode == 0x1E:
                continue
            if mode == 0x1D:
                self.sock.sendto(b"\x24\x01", addr)
                continue
            reply = bytearray(48)
            reply[0] = 0x24  # version 4, mode 4 (server)
            reply[1] = 0 if mode == 0x1C else 2
            reply[40:44] = struct.pack("!I", FIXED_UNIX + _NTP_DELTA)
            self.sock.sendto(bytes(reply), addr)

    def stop(self):
        self._stop = True
        self._t.join(2)
        self.sock.close()
