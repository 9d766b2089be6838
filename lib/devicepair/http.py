"""One small HTTP/1.1 client for the board and the host.

Why not micropython-lib ``requests``: it never verifies certificates, reads whole bodies into
RAM and cannot form-encode. This transport opens its own socket, verifies TLS against the
configured CA certificates (DER), sends ``Connection: close``, decodes chunked bodies, refuses a
body over ``max_body`` as soon as it knows (Content-Length) or the moment it is exceeded
(chunked / to EOF), and always closes its socket. It must never retry, sleep, or print a header
or body: the caller decides about retries, and bodies carry tokens.

Every request ends by its deadline (``timeout_ms`` from the start), whatever the server does:
on MicroPython the socket is non-blocking after connect and every read, write and TLS handshake
step waits in ``select.poll`` for at most the time left (a blocking ``readinto`` would wait for
a full buffer, a blocking handshake restarts its timeout per record); on CPython each call gets
the time left as its socket timeout. Reading stops where Content-Length or the last chunk says
the body ends, so a server that keeps the socket open cannot turn an answer into a timeout. No
header name or value with CR, LF or NUL is ever written (``HeaderError`` before connecting).
"""

import builtins
import gc
import socket
import sys
import json as _json

try:
    import ssl
except ImportError:  # a port built without TLS: https:// fails with a clear TLSError
    ssl = None

try:
    import select
except ImportError:
    select = None

from . import form, urls
from .clock import ticks_ms, ticks_diff, ticks_add
from .errors import DevicePairError, NetworkError, ResponseError, HeaderError, OutOfMemory

_MP = sys.implementation.name == "micropython"
_FORM = "application/x-www-form-urlencoded"
_CHUNK = 256
_MAX_LINE = 1024
_MAX_HEADERS = 64
_MAX_INTERIM = 8  # 1xx responses skipped before the final one
_WAIT_MS = 50  # longest poll while a write (or a TLS handshake step) waits
_TLS_LOW = 12288  # GC heap left after wrap_socket below which a failed verify is lack of memory
_ERRNO = {110: "timeout", 11: "timeout", 104: "connection reset", 111: "connection refused",
          113: "host unreachable", 101: "network unreachable", 32: "connection reset"}
_HEX = b"0123456789abcdefABCDEF"


# MicroPython has no RecursionError: deeply nested JSON is a MemoryError there
_DEEP = getattr(builtins, "RecursionError", MemoryError)


def _no_constant(name):
    raise ValueError("JSON has " + name)


def _loads(s):
    """json.loads, with NaN/Infinity malformed on CPython as on MicroPython."""
    if hasattr(_json, "JSONDecoder"):
        return _json.loads(s, parse_constant=_no_constant)
    return _json.loads(s)


class Response:
    """Status, a few headers, and the (bounded) body. ``data()`` parses JSON or form."""

    def __init__(self, status, content_type, retry_after, content):
        self.status_code = status
        self.content_type = content_type
        self.retry_after = retry_after
        self.content = content

    @property
    def text(self):
        try:
            return bytes(self.content).decode()
        except UnicodeError:
            raise ResponseError("body is not UTF-8", self.status_code)

    def json(self):
        c = self.content
        try:
            if c and max(c) > 0x7F:  # MicroPython's json would keep invalid UTF-8 in a str
                bytes(c).decode()  # that raises UnicodeError much later, in the app
            return _loads(c)
        except (ValueError, UnicodeError):
            raise ResponseError("malformed JSON (HTTP %d)" % self.status_code, self.status_code)
        except (MemoryError, _DEEP):  # deep nesting: MemoryError on MP, this on CPython
            raise no_memory()

    def data(self):
        """The body as a dict: form-encoded when the server says so, else JSON."""
        if _FORM in self.content_type:
            try:
                return form.parse_form(bytes(self.content).decode())
            except UnicodeError:
                raise ResponseError("malformed form body (HTTP %d)" % self.status_code,
                                    self.status_code)
        d = self.json()
        if not isinstance(d, dict):
            raise ResponseError("unexpected JSON (HTTP %d)" % self.status_code, self.status_code)
        return d


def no_memory():
    """The error for a response that did not fit the (fragmented) heap: transient, since the
    garbage that splits the heap is collected before the app's automatic retry."""
    e = ResponseError("response too large for free memory")
    e.transient = True
    return e


def _why(e):
    """A short reason for an OSError from the socket layer."""
    if isinstance(e, NetworkError):
        return e.message
    code = getattr(e, "errno", None)
    if code is None and e.args and isinstance(e.args[0], int):
        code = e.args[0]
    if code in _ERRNO or code is None and "timed out" in str(e):
        return _ERRNO.get(code, "timeout")
    return "network error %s" % (code if code is not None else e.__class__.__name__)


def _left(deadline):
    """Milliseconds to the deadline; NetworkError("timeout") once it has passed."""
    ms = ticks_diff(deadline, ticks_ms())
    if ms <= 0:
        raise NetworkError("timeout")
    return ms


class _Reader:
    """Buffered reads from a socket through one preallocated chunk, under a deadline.

    ``_fill()`` returns as soon as any bytes arrived (0 at EOF) and never waits past the
    deadline; ``pos``/``end`` index the unread bytes of ``mv``."""

    def __init__(self, sock, deadline, buf, poll=None):
        self.sock = sock
        self.deadline = deadline
        self.mv = memoryview(buf)
        self.pos = self.end = 0
        self._poll = poll
        self._recv = None if poll else (getattr(sock, "recv_into", None) or sock.readinto)

    def _fill(self):
        while True:
            ms = _left(self.deadline)
            if self._poll is None:
                self.sock.settimeout(ms / 1000)
                n = self._recv(self.mv)
            else:
                self._poll.poll(ms)
                n = self.sock.readinto(self.mv)  # non-blocking: what arrived, None if nothing
                if n is None:
                    continue
            self.pos, self.end = 0, n
            return n

    def readline(self):
        line = b""
        while True:
            if self.pos >= self.end and not self._fill():
                raise NetworkError("connection closed early")
            chunk = bytes(self.mv[self.pos:self.end])
            i = chunk.find(b"\n")
            if i >= 0:
                self.pos += i + 1
                line += chunk[:i + 1]
                if len(line) > _MAX_LINE:
                    raise ResponseError("header line too long")
                return line.rstrip(b"\r\n")
            line += chunk
            self.pos = self.end
            if len(line) > _MAX_LINE:
                raise ResponseError("header line too long")


class Body:
    """A response body as a stream: ``readinto(buf)`` -> bytes copied, 0 once it is complete.

    Framing (Content-Length, chunked, until the server closes), the size cap and the deadline
    are enforced here; ``status_code``, ``content_type`` and ``retry_after`` as on Response.
    From ``Transport.open()``: the caller must ``close()`` it, in a ``finally``, and before the
    transport's next request (whose reads share the same buffer)."""

    def __init__(self, reader, status, ctype, retry_after, length, chunked, cap):
        self._r = reader
        self.status_code = status
        self.content_type = ctype
        self.retry_after = retry_after
        self._left = length  # -1: until the server closes; chunked: -2 before the first size
        self._chunked = chunked
        self._cap = cap
        self.total = 0
        self._socks = ()

    def _take(self, limit):
        """(start, n) of the next body bytes in the reader's buffer; n == 0: complete."""
        r = self._r
        left = self._left
        if self._chunked and left <= 0:
            if left == 0 and r.readline():
                raise ResponseError("bad chunked body", self.status_code)
            s = r.readline().split(b";")[0].strip()
            if not s or len(s) > 8 or [c for c in s if c not in _HEX]:
                raise ResponseError("bad chunked body", self.status_code)
            left = self._left = int(s, 16)
            if self.total + left > self._cap:
                raise ResponseError("response too large (over %d bytes)" % self._cap,
                                    self.status_code)
            if not left:
                for _ in range(_MAX_HEADERS):  # trailers, up to the blank line
                    if not r.readline():
                        break
                else:
                    raise ResponseError("too many headers", self.status_code)
                self._chunked = False  # complete: left == 0
        if not left:
            return 0, 0
        if r.pos >= r.end and not r._fill():
            if left < 0:
                self._left = 0  # the server closed: that ends a body without framing
                return 0, 0
            raise NetworkError("connection closed mid-body")
        k = r.end - r.pos
        if k > limit:
            k = limit
        if 0 < left < k:
            k = left
        if self.total + k > self._cap:
            raise ResponseError("response too large (over %d bytes)" % self._cap,
                                self.status_code)
        self.total += k
        if left > 0:
            self._left = left - k
        start = r.pos
        r.pos += k
        return start, k

    def readinto(self, buf):
        start, k = self._take(len(buf))
        memoryview(buf)[:k] = self._r.mv[start:start + k]
        return k

    def read_all(self):
        """The rest of the body as a bytearray (at most the cap)."""
        mv = self._r.mv
        n = 0 if self._chunked else self._left
        out = bytearray(n if n > 0 else 0)  # Content-Length: one allocation, filled in place
        o = memoryview(out) if n > 0 else None  # (CPython cannot extend a viewed bytearray)
        i = 0
        while True:
            start, k = self._take(n - i if n > 0 else _CHUNK)
            if not k:
                return out
            if n > 0:
                o[i:i + k] = mv[start:start + k]
                i += k
            else:
                out.extend(mv[start:start + k])

    def close(self):
        for s in self._socks:
            s.close()
        self._socks = ()


def _tls(fn, *args):
    """``devicepair.tls.<fn>(*args)``, loaded for this call only: its code is needed once per
    transport (the context) and on a failed handshake, and a board's heap is better used for
    the TLS buffers. Short of memory even for that, the MemoryError becomes OutOfMemory."""
    from . import forget, tls

    try:
        return getattr(tls, fn)(*args)
    finally:
        del tls
        forget("tls")


def _check_header(name, value):
    """``name: value`` as text, or HeaderError: nothing with CR, LF or NUL goes out."""
    name, value = str(name), str(value)
    if not name or [c for c in name if not "!" <= c <= "~" or c == ":"]:
        raise HeaderError("refused header: bad name")
    if "\r" in value or "\n" in value or "\0" in value:
        raise HeaderError("refused header: %s contains CR, LF or NUL" % name)
    return "%s: %s\r\n" % (name, value)


class Transport:
    """``request(method, url, fields=, json=, headers=, bearer=)`` -> Response;
    ``open(...)`` -> Body (the same, with the body streamed; the caller closes it).

    ``cadata``: the CA certificate(s) in DER - one, several concatenated, or a list of them -
    required for https:// on the board. ``allow_insecure_http``: development only; http:// is
    refused unless the host is loopback.
    """

    user_agent = "devicepair/0.1"

    def __init__(self, cadata=None, allow_insecure_http=False, timeout_ms=15000,
                 max_body=8192, socket_module=None, ssl_module=None):
        self.cadata = cadata
        self.allow_insecure_http = allow_insecure_http
        self.timeout_ms = timeout_ms
        self.max_body = max_body
        self._socket = socket_module or socket
        self._ssl = ssl_module or ssl
        self._ctx = None
        self._buf = bytearray(_CHUNK)
        self._low = None
        self._method = "GET"

    def get(self, url, bearer=None, headers=None):
        return self.request("GET", url, headers=headers, bearer=bearer)

    def post_form(self, url, fields, headers=None):
        return self.request("POST", url, fields=fields, headers=headers)

    def _wrap(self, raw, host, deadline):
        """The TLS socket; on MicroPython its handshake runs in the first (polled) write."""
        gc.collect()  # the 16.7 KB receive buffer needs one unbroken block (TLS in GC heap)
        free = getattr(gc, "mem_free", None)
        before = free() if free else 0
        try:
            if _MP:
                return self._ctx.wrap_socket(raw, server_hostname=host,
                                             do_handshake_on_connect=False)
            raw.settimeout(_left(deadline) / 1000)  # CPython: one deadline for the handshake
            return self._ctx.wrap_socket(raw, server_hostname=host)
        except Exception as e:
            raise _tls("failure", e, host)
        finally:
            after = free() if free else 0
            # did mbedtls take its buffers from the GC heap (Pico W), leaving it nearly dry?
            self._low = after if before - after > 8192 and after < _TLS_LOW else None

    def _send(self, sock, data, deadline, poll):
        if poll is None:
            sock.settimeout(_left(deadline) / 1000)
            sock.sendall(data)
            return
        mv = memoryview(data)
        while mv:
            ms = _left(deadline)
            n = sock.write(mv)  # non-blocking; on TLS the first write runs the handshake
            if n is None:
                poll.poll(min(ms, _WAIT_MS))
                continue
            mv = mv[n:]

    def _head(self, method, url, fields, json, headers, bearer):
        """Checks everything before any traffic -> (scheme, host, port, bytes of the head,
        body or None)."""
        try:
            scheme, host, port, path = urls.split_url(url)
        except ValueError as e:
            raise DevicePairError("refused URL: " + str(e))
        if scheme == "http" and not (self.allow_insecure_http and urls.is_loopback_host(host)):
            raise DevicePairError("refused URL: use https:// (http:// only for loopback)")
        _check_header(method, "")  # a token: no space, CR, LF or NUL
        body = ctype = None
        if fields is not None:
            body, ctype = form.urlencode(fields).encode(), _FORM
        elif json is not None:
            body, ctype = _json.dumps(json).encode(), "application/json"
        hosthdr = host if port in (80, 443) else "%s:%d" % (host, port)
        if ":" in host:
            hosthdr = "[%s]:%d" % (host, port)
        head = ["%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n" % (method, path, hosthdr)]
        hdrs = {"User-Agent": self.user_agent, "Accept": "application/json"}
        if headers:
            hdrs.update(headers)
        if bearer is not None:
            if not isinstance(bearer, str):
                raise HeaderError("refused header: Authorization is not text")
            hdrs["Authorization"] = "Bearer " + bearer
        if body is not None:
            hdrs["Content-Type"] = ctype
            hdrs["Content-Length"] = str(len(body))
        for k in hdrs:
            head.append(_check_header(k, hdrs[k]))
        head.append("\r\n")
        return scheme, host, port, "".join(head).encode(), body

    def _exchange(self, method, url, fields, json, headers, bearer, read):
        """Connect, send, and hand a reader of the answer to ``read``; closes the socket
        unless ``read`` returns a Body (which then owns it)."""
        scheme, host, port, head, body = self._head(method, url, fields, json, headers, bearer)
        if body is not None and len(head) + len(body) <= 2 * _CHUNK:
            head, body = head + body, None  # one write, one TLS record
        deadline = ticks_add(ticks_ms(), self.timeout_ms)
        raw = sock = None
        owned = reading = False
        so = self._socket
        try:
            if scheme == "https" and self._ctx is None:  # a CA problem shows before traffic
                self._ctx = _tls("context", self._ssl, self.cadata)
            try:
                ai = so.getaddrinfo(host, port, 0, so.SOCK_STREAM)[0]
            except OSError:
                raise NetworkError("DNS lookup failed for " + host)
            raw = sock = so.socket(ai[0], so.SOCK_STREAM)
            raw.settimeout(_left(deadline) / 1000)
            raw.connect(ai[-1])
            self._low = None
            if _MP:
                raw.setblocking(False)
            if scheme == "https":
                sock = self._wrap(raw, host, deadline)
            poll = None
            if _MP and select is not None:
                poll = select.poll()
                poll.register(sock, select.POLLIN)
            try:
                self._send(sock, head, deadline, poll)
            except Exception as e:
                if scheme == "https" and _MP:  # the handshake ran in this first write
                    raise _tls("failure", e, host, self._low)
                raise
            if body is not None:
                self._send(sock, body, deadline, poll)
            del head, body
            self._method = method
            reading = True
            out = read(_Reader(sock, deadline, self._buf, poll))
            if isinstance(out, Body):
                out._socks = (sock, raw)
                owned = True
            return out
        except OSError as e:
            raise NetworkError(_why(e))
        except MemoryError:  # a fragmented heap must not crash the app: report and go on
            raise no_memory() if reading else OutOfMemory("out of memory")
        finally:
            if not owned:
                if sock is not None:
                    sock.close()
                if raw is not None and raw is not sock:
                    raw.close()

    def request(self, method, url, fields=None, json=None, headers=None, bearer=None):
        return self._exchange(method, url, fields, json, headers, bearer, self._read_response)

    def open(self, method, url, fields=None, json=None, headers=None, bearer=None):
        """Like ``request``, but -> Body with the status and headers read and the body left
        on the socket: ``readinto`` it in bounded pieces, then ``close()`` (or use ``with``).
        Errors while reading are the same typed errors; the deadline still holds."""
        return self._exchange(method, url, fields, json, headers, bearer, self._read_head)

    def _read_response(self, r):
        b = self._read_head(r)
        return Response(b.status_code, b.content_type, b.retry_after, b.read_all())

    def _read_head(self, r):
        """Status line and headers (1xx interim answers skipped) -> Body."""
        for _ in range(_MAX_INTERIM):
            parts = r.readline().split(None, 2)
            if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or len(parts[1]) != 3 \
                    or not parts[1].isdigit():
                raise ResponseError("not an HTTP response")
            status = int(parts[1])
            if status < 100:
                raise ResponseError("not an HTTP response")
            body = self._headers(r, status)
            if status >= 200 or status == 101:
                break
        else:
            raise ResponseError("too many interim (1xx) responses")
        if status == 101:
            raise ResponseError("unexpected 101 Switching Protocols", 101)
        length, chunked, ctype, retry_after = body
        if self._method == "HEAD" or status in (204, 304):
            length, chunked = 0, False
        elif chunked:
            length = -2
        elif length > self.max_body:
            raise ResponseError("response too large (%d bytes, limit %d)"
                                % (length, self.max_body), status)
        return Body(r, status, ctype, retry_after, length, chunked, self.max_body)

    def _headers(self, r, status):
        length = -1
        chunked = False
        ctype = ""
        retry_after = None
        for _ in range(_MAX_HEADERS):
            line = r.readline()
            if not line:
                return length, chunked, ctype, retry_after
            k, sep, v = line.partition(b":")
            k = k.lower()
            if not sep or not k or k != k.strip():
                raise ResponseError("malformed header line", status)
            v = v.strip()
            if k == b"content-length":
                if not v.isdigit() or len(v) > 12:
                    raise ResponseError("bad Content-Length", status)
                n = int(v)
                if length >= 0 and n != length:
                    raise ResponseError("bad Content-Length (two values)", status)
                length = n
            elif k == b"transfer-encoding":
                te = v.lower()
                if te == b"chunked":
                    chunked = True
                elif te != b"identity":
                    raise ResponseError("unsupported Transfer-Encoding", status)
            elif k == b"content-type":
                try:
                    ctype = v.decode().lower()
                except UnicodeError:
                    raise ResponseError("bad Content-Type header (not UTF-8)", status)
            elif k == b"retry-after":
                if v.isdigit() and len(v) < 10:
                    retry_after = min(int(v), 86400)  # an HTTP-date: the caller's own backoff
        raise ResponseError("too many headers", status)
