"""The project's own fault-injection server: named network and server faults on 127.0.0.1.

Why: the transport and the device flow must end every request with a typed error within its
deadline whatever a server does, on both interpreters (issue 9). A well-behaved test server
cannot show that; this one misbehaves on purpose, one named fault per URL (CPython only, a
thread per connection, raw sockets so every byte and every pause is the fault's own).

Plain HTTP: ``GET|POST {url}/f/<fault>`` plays ``FAULTS[fault]``; ``{url}/device`` answers a
valid device authorization response. TLS: one listener per fault in ``TLS_FAULTS`` (the fault
starts before any request can name it), ``tls_ports[fault]``, certificates from a CA made here
(``ca_der``; ``wrong_ca`` signs the one for ``tls_wrong_ca``). Every pause is bounded (at most
``HOLD_S``) and ends early on ``stop()``, so a stuck client never keeps the suite alive.
"""

import json
import socket
import ssl
import struct
import threading

import trustme

HOLD_S = 5.0  # the longest any fault keeps a connection open
TRICKLE_S = 0.1  # pause between bytes of a trickle

_DEVICE = {"device_code": "dev-code-1", "user_code": "BCDF-GHJK",
           "verification_uri": "https://auth.example/device",
           "verification_uri_complete": "https://auth.example/device?user_code=BCDF-GHJK",
           "expires_in": 900, "interval": 5}
# A body that is both a token response and a device response, so the same fault can be
# played to start() and to a token poll: success faults end in DONE or POLLING.
OK_BODY = json.dumps(dict(_DEVICE, access_token="at-" + "a" * 40, token_type="Bearer",
                          expires_in=900)).encode()


def _resp(status="200 OK", headers=(), body=OK_BODY, length=True):
    h = ["HTTP/1.1 " + status, "Content-Type: application/json"]
    if length:
        h.append("Content-Length: %d" % len(body))
    h.extend(headers)
    return ("\r\n".join(h) + "\r\n\r\n").encode() + body


def _chunked(body, size=7):
    out = b""
    for i in range(0, len(body), size):
        part = body[i:i + size]
        out += b"%x\r\n%s\r\n" % (len(part), part)
    return out + b"0\r\n\r\n"


_CHUNK_HEAD = ("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
               "Transfer-Encoding: chunked\r\n\r\n").encode()


class _Conn:
    """What a fault may do with one accepted connection."""

    def __init__(self, sock, stop):
        self.sock = sock
        self._stop = stop

    def send(self, data):
        self.sock.sendall(data)

    def trickle(self, data, pause=TRICKLE_S):
        for i in range(len(data)):
            if self._stop.wait(pause):
                return
            self.sock.sendall(data[i:i + 1])

    def hold(self, seconds=HOLD_S):
        """Keep the connection open without a byte (until stop())."""
        self._stop.wait(seconds)

    def reset(self):
        """Close with a TCP RST instead of a FIN."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()


def _send_then_hold(data):
    def fault(c):
        c.send(data)
        c.hold()
    return fault


def _send(data):
    return lambda c: c.send(data)


def _send_then_reset(data):
    def fault(c):
        c.send(data)
        c.reset()
    return fault


def _endless_header(c):
    c.send(b"HTTP/1.1 200 OK\r\nX-Long: ")
    for _ in range(200):  # 200 KB without a newline: the client must refuse long before
        c.send(b"a" * 1024)


def _trickle_forever(c):  # a header line that never ends, one byte at a time
    c.send(b"HTTP/1.1 200 OK\r\n")
    c.trickle(b"X-Slow: " + b"z" * 200)


_HEADERS_100 = ["X-H%d: %d" % (i, i) for i in range(100)]
_DEEP = b"[" * 4000 + b"]" * 4000  # 8000 bytes: under the 8 KB cap, far over any stack

# name -> what the server does after reading the request. Outcome expected by the tests is in
# host_tests/both/test_faults.py, next to the same name.
FAULTS = {
    "ok": _send(_resp()),
    "stall_before_status": lambda c: c.hold(),
    "stall_after_status": _send_then_hold(b"HTTP/1.1 200 OK\r\n"),
    "stall_after_headers": _send_then_hold(_resp().split(b"\r\n\r\n")[0] + b"\r\n\r\n"),
    "stall_mid_body": _send_then_hold(_resp()[:-10]),
    "trickle_status": lambda c: c.trickle(_resp()),
    "trickle_header_forever": _trickle_forever,
    "trickle_body": lambda c: (c.send(_resp()[:-len(OK_BODY)]), c.trickle(OK_BODY)),
    "close_before_status": _send(b""),
    "close_mid_status": _send(b"HTTP/1.1 20"),
    "close_mid_headers": _send(_resp()[:40]),
    "close_mid_body": _send(_resp()[:-10]),
    "reset_before_status": lambda c: c.reset(),
    "reset_mid_headers": _send_then_reset(_resp()[:40]),
    "reset_mid_body": _send_then_reset(_resp()[:-10]),
    "keep_open_after_body": _send_then_hold(_resp()),
    "keep_open_after_chunked": _send_then_hold(_CHUNK_HEAD + _chunked(OK_BODY)),
    "keep_open_after_204": _send_then_hold(b"HTTP/1.1 204 No Content\r\n\r\n"),
    "garbage_status_line": _send(b"GARBAGE\r\n\r\n"),
    "binary_garbage": _send(bytes(range(256)) * 4),
    "status_not_a_number": _send(b"HTTP/1.1 2OO OK\r\nContent-Length: 0\r\n\r\n"),
    "status_negative": _send(b"HTTP/1.1 -20 OK\r\nContent-Length: 0\r\n\r\n"),
    "status_four_digits": _send(b"HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n"),
    "interim_100_continue": _send(b"HTTP/1.1 100 Continue\r\n\r\n" + _resp()),
    "interim_103_early_hints": _send(b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload"
                                     b"\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n" + _resp()),
    "interim_flood": _send(b"HTTP/1.1 100 Continue\r\n\r\n" * 50 + _resp()),
    "switching_protocols": _send(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n"),
    "huge_header_line": _send(_resp(headers=["X-Big: " + "b" * 5000])),
    "endless_header_line": _endless_header,
    "too_many_headers": _send(_resp(headers=_HEADERS_100)),
    "header_without_colon": _send(_resp(headers=["this is not a header"])),
    "obs_fold_header": _send(_resp(headers=["X-A: 1", " folded"])),
    "chunk_size_negative": _send(_CHUNK_HEAD + b"-5\r\nhello\r\n0\r\n\r\n"),
    "chunk_size_garbage": _send(_CHUNK_HEAD + b"zz\r\nhello\r\n0\r\n\r\n"),
    "chunk_size_huge": _send_then_hold(_CHUNK_HEAD + b"7fffffff\r\nhello"),
    "chunk_size_signed": _send(_CHUNK_HEAD + b"+5\r\nhello\r\n0\r\n\r\n"),
    "chunk_without_crlf": _send(_CHUNK_HEAD + b"5\r\nhelloXX3\r\nabc\r\n0\r\n\r\n"),
    "chunk_truncated_close": _send(_CHUNK_HEAD + _chunked(OK_BODY)[:-7]),
    "chunk_terminator_missing_hold": _send_then_hold(_CHUNK_HEAD + _chunked(OK_BODY)[:-5]),
    "chunked_trailer_flood": _send(_CHUNK_HEAD + b"0\r\n" + b"X-T: 1\r\n" * 100 + b"\r\n"),
    "content_length_negative": _send(b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\nhello"),
    "content_length_garbage": _send(b"HTTP/1.1 200 OK\r\nContent-Length: 12abc\r\n\r\n"),
    "content_length_conflict": _send(_resp(headers=["Content-Length: 3"])),
    "content_length_huge": _send_then_hold(b"HTTP/1.1 200 OK\r\n"
                                           b"Content-Length: 99999999999\r\n\r\n{"),
    "content_length_lies_long_close": _send(b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n"
                                            b"\r\n" + OK_BODY),
    "content_length_lies_short": _send(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"
                                       + OK_BODY),
    "content_length_lies_long_hold": _send_then_hold(
        b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + OK_BODY),
    "transfer_encoding_gzip": _send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxx"),
    "non_utf8_content_type": _send(b"HTTP/1.1 200 OK\r\nContent-Type: text/\xff\xfe\r\n"
                                   b"Content-Length: 2\r\n\r\n{}"),
    "non_utf8_other_header": _send(_resp(headers=["X-Name: cafX"]).replace(b"cafX",
                                                                           b"caf\xe9")),
    "status_500": _send(_resp("500 Internal Server Error", body=b"<html>oops</html>")),
    "status_503_retry_after": _send(_resp("503 Service Unavailable", ["Retry-After: 7"],
                                          b'{"error":"temporarily_unavailable"}')),
    "status_429_retry_after": _send(_resp("429 Too Many Requests", ["Retry-After: 30"],
                                          b"")),
    "status_429_no_retry_after": _send(_resp("429 Too Many Requests", body=b"slow down")),
    "retry_after_absurd": _send(_resp("503 Service Unavailable",
                                      ["Retry-After: 99999999999999999999"], b"{}")),
    "oversized_body_length": _send_then_hold(b"HTTP/1.1 200 OK\r\n"
                                             b"Content-Length: 1000000\r\n\r\n" + b"x" * 1000),
    "oversized_body_to_eof": _send(b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * 100000),
    "oversized_chunked": _send(_CHUNK_HEAD + _chunked(b"y" * 20000, 1000)),
    "deep_json": _send(_resp(body=_DEEP)),
    "nan_json": _send(_resp(body=b'{"access_token": NaN, "expires_in": Infinity}')),
    "truncated_json": _send(_resp(body=b'{"error": "authorization_pen')),
    "json_not_object": _send(_resp(body=b'["access_token"]')),
    "html_instead_of_json": _send(_resp("200 OK", ["X-Proxy: captive"],
                                        b"<html><body>Sign in to Wi-Fi</body></html>")),
    "body_not_utf8": _send(_resp(body=b'{"error": "\xff\xfe"}')),
}

# TLS faults: each on its own port; ``None`` means "a normal TLS server, answer with OK_BODY".
TLS_FAULTS = ("tls_ok", "tls_stall_handshake", "tls_trickle_handshake",
              "tls_close_during_handshake", "tls_reset_during_handshake",
              "tls_garbage_handshake", "tls_silence_after_handshake", "tls_trickle_body",
              "tls_keep_open_after_body", "tls_wrong_ca")


def _read_request(sock, stop):
    """Read one request head (and a Content-Length body) or give up; bounded."""
    sock.settimeout(HOLD_S)
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536 and not stop.is_set():
        got = sock.recv(4096)
        if not got:
            return data
        data += got
    head, _, body = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            n = min(int(line.split(b":")[1]), 65536)
            while len(body) < n and not stop.is_set():
                got = sock.recv(4096)
                if not got:
                    break
                body += got
    return head


class FaultServer:
    """``FaultServer().start()``; ``url``, ``tls_ports``, ``ca_der``; ``stop()`` always."""

    def __init__(self):
        self._stop = threading.Event()
        self._threads = []
        self._listeners = []
        ca, wrong = trustme.CA(), trustme.CA()
        self.ca_der = ssl.PEM_cert_to_DER_cert(ca.cert_pem.bytes().decode())
        self._ctx = self._server_ctx(ca)
        self._wrong_ctx = self._server_ctx(wrong)
        port = self._listen(self._plain)
        self.url = "http://127.0.0.1:%d" % port
        self.tls_ports = {}
        for name in TLS_FAULTS:
            self.tls_ports[name] = self._listen(lambda s, n=name: self._tls(n, s))

    @staticmethod
    def _server_ctx(ca):
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("localhost").configure_cert(ctx)
        return ctx

    def _listen(self, handler):
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", 0))
        ls.listen(32)
        ls.settimeout(0.1)
        self._listeners.append((ls, handler))
        return ls.getsockname()[1]

    def _accept_loop(self, ls, handler):
        while not self._stop.is_set():
            try:
                s, _ = ls.accept()
            except OSError:
                continue
            t = threading.Thread(target=self._run, args=(handler, s), daemon=True)
            t.start()

    def _run(self, handler, s):
        try:
            handler(s)
        except OSError:
            pass  # the client gave up or refused: that is the test
        finally:
            try:
                s.close()
            except OSError:
                pass

    def _plain(self, s):
        head = _read_request(s, self._stop)
        parts = head.split(b" ")
        path = parts[1].decode("ascii", "replace") if len(parts) > 1 else ""
        c = _Conn(s, self._stop)
        if path == "/device":
            return c.send(_resp(body=json.dumps(_DEVICE).encode()))
        fault = FAULTS.get(path[3:]) if path.startswith("/f/") else None
        if fault is None:
            return c.send(_resp("404 Not Found", body=b'{"error":"no such fault"}'))
        fault(c)

    def _tls(self, name, s):
        c = _Conn(s, self._stop)
        if name == "tls_stall_handshake":
            s.recv(4096)
            return c.hold()
        if name == "tls_close_during_handshake":
            s.recv(4096)
            return None
        if name == "tls_reset_during_handshake":
            s.recv(4096)
            return c.reset()
        if name == "tls_garbage_handshake":
            s.recv(4096)
            return c.send(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        if name == "tls_trickle_handshake":
            return self._trickled_handshake(s)
        ctx = self._wrong_ctx if name == "tls_wrong_ca" else self._ctx
        s.settimeout(HOLD_S)
        t = ctx.wrap_socket(s, server_side=True)
        c = _Conn(t, self._stop)
        _read_request(t, self._stop)
        if name == "tls_silence_after_handshake":
            return c.hold()
        if name == "tls_trickle_body":
            return c.trickle(_resp())
        c.send(_resp())
        if name == "tls_keep_open_after_body":
            c.hold()
        return None

    def _trickled_handshake(self, s):
        """The server's handshake records, one byte per TRICKLE_S (a timeout per recv never
        fires; only an overall deadline ends it)."""
        inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = self._ctx.wrap_bio(inc, out, server_side=True)
        s.settimeout(HOLD_S)
        for _ in range(100):
            if self._stop.is_set():
                return
            try:
                obj.do_handshake()
                return
            except ssl.SSLWantReadError:
                pending = out.read()
                if pending:
                    _Conn(s, self._stop).trickle(pending)
                    return  # it took HOLD_S-scale time by now; the client is long gone
                got = s.recv(4096)
                if not got:
                    return
                inc.write(got)

    def start(self):
        for ls, handler in self._listeners:
            t = threading.Thread(target=self._accept_loop, args=(ls, handler), daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(2)
        for ls, _ in self._listeners:
            ls.close()

    def env(self, ca_path):
        """Environment for tests on either interpreter (the CA is written to ``ca_path``)."""
        with open(ca_path, "wb") as f:
            f.write(self.ca_der)
        return {"DEVICEPAIR_FAULT_SERVER": self.url, "DEVICEPAIR_FAULT_CA": ca_path,
                "DEVICEPAIR_FAULT_TLS": ",".join("%s=%d" % kv for kv in self.tls_ports.items())}
