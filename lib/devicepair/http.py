"""One small HTTP/1.1 client for the board and the host.

Why not micropython-lib ``requests``: it never verifies certificates, reads whole bodies into
RAM and cannot form-encode. This transport opens its own socket, verifies TLS against the
configured CA (DER), sends ``Connection: close``, decodes chunked bodies, refuses a body over
``max_body`` as soon as it knows (Content-Length) or the moment it is exceeded (chunked / to
EOF), and always closes its socket. It must never retry, sleep, or print a header or body:
the caller decides about retries, and bodies carry tokens.
"""

import socket
import json as _json

try:
    import ssl
except ImportError:  # a port built without TLS: https:// fails with a clear TLSError
    ssl = None

from . import form, urls
from .clock import ticks_ms, ticks_diff, ticks_add
from .errors import DevicePairError, NetworkError, TLSError, ResponseError

_FORM = "application/x-www-form-urlencoded"
_CHUNK = 256
_MAX_LINE = 1024
_MAX_HEADERS = 64
_ERRNO = {110: "timeout", 11: "timeout", 104: "connection reset", 111: "connection refused",
          113: "host unreachable", 101: "network unreachable", 32: "connection reset"}


class Response:
    """Status, a few headers, and the (bounded) body. ``data()`` parses JSON or form."""

    def __init__(self, status, content_type, retry_after, content):
        self.status_code = status
        self.content_type = content_type
        self.retry_after = retry_after
        self.content = content

    @property
    def text(self):
        return bytes(self.content).decode()

    def json(self):
        try:
            return _json.loads(self.content)
        except (ValueError, UnicodeError):
            raise ResponseError("malformed JSON (HTTP %d)" % self.status_code, self.status_code)
        except MemoryError:
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


class _Reader:
    """Buffered reads from a socket through one preallocated chunk, under a deadline."""

    def __init__(self, sock, deadline, buf):
        self._readinto = getattr(sock, "readinto", None) or sock.recv_into
        self.deadline = deadline
        self.mv = memoryview(buf)
        self.pos = self.end = 0

    def _fill(self):
        if ticks_diff(self.deadline, ticks_ms()) <= 0:
            raise NetworkError("timeout")
        n = self._readinto(self.mv)
        self.pos, self.end = 0, n or 0
        return self.end

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
                return line.rstrip(b"\r\n")
            line += chunk
            self.pos = self.end
            if len(line) > _MAX_LINE:
                raise ResponseError("header line too long")

    def read_into(self, out, start, n):
        """Copy exactly ``n`` bytes into ``out[start:]``."""
        mv = memoryview(out)
        while n:
            if self.pos >= self.end and not self._fill():
                raise NetworkError("connection closed mid-body")
            k = min(n, self.end - self.pos)
            mv[start:start + k] = self.mv[self.pos:self.pos + k]
            self.pos += k
            start += k
            n -= k

    def extend(self, out, n):
        """Append exactly ``n`` bytes to the bytearray ``out``."""
        while n:
            if self.pos >= self.end and not self._fill():
                raise NetworkError("connection closed mid-body")
            k = min(n, self.end - self.pos)
            out.extend(self.mv[self.pos:self.pos + k])
            self.pos += k
            n -= k

    def read_to_eof(self, out, cap):
        while True:
            if self.pos >= self.end and not self._fill():
                return out
            k = self.end - self.pos
            if len(out) + k > cap:
                raise ResponseError("response too large (over %d bytes)" % cap)
            out.extend(self.mv[self.pos:self.end])
            self.pos = self.end


_TLS_REASONS = (("signed by the trusted", "unknown CA"), ("local issuer", "unknown CA"),
                ("self-signed", "unknown CA"), ("Common Name", "wrong hostname"),
                ("ostname mismatch", "wrong hostname"), ("expired", "certificate expired"),
                ("future", "certificate not yet valid"),
                ("not yet valid", "certificate not yet valid"))


def _tls_reason(text):
    """Both runtimes' verification messages -> one short reason for the screen."""
    for needle, reason in _TLS_REASONS:
        if needle in text:
            if "valid" in reason or "expired" in reason:
                reason += " (is the clock set?)"
            return "certificate rejected: " + reason
    return "handshake failed (" + " ".join(text.split())[:60] + ")"


def _send(sock, data):
    send = getattr(sock, "sendall", None)
    if send is not None:
        send(data)
        return
    mv = memoryview(data)
    while mv:
        n = sock.write(mv)
        mv = mv[n or 0:]


class Transport:
    """``request(method, url, fields=, json=, headers=, bearer=)`` -> Response.

    ``cadata``: the CA certificate(s) in DER, required for https:// on the board.
    ``allow_insecure_http``: development only; http:// is refused unless the host is loopback.
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

    def get(self, url, bearer=None, headers=None):
        return self.request("GET", url, headers=headers, bearer=bearer)

    def post_form(self, url, fields, headers=None):
        return self.request("POST", url, fields=fields, headers=headers)

    def _context(self):
        if self._ctx is None:
            s = self._ssl
            if s is None:
                raise TLSError("TLS: this firmware has no ssl module")
            ctx = s.SSLContext(s.PROTOCOL_TLS_CLIENT)
            ctx.verify_mode = s.CERT_REQUIRED
            if hasattr(ctx, "check_hostname"):
                ctx.check_hostname = True
            if self.cadata:
                try:
                    ctx.load_verify_locations(cadata=self.cadata)
                except (OSError, ValueError) as e:
                    raise TLSError("TLS: CA certificate unreadable (%s)" % _why(e))
            elif hasattr(ctx, "load_default_certs"):  # CPython host tools
                ctx.load_default_certs()
            else:
                raise TLSError("TLS: no CA certificate configured (ca_file)")
            self._ctx = ctx
        return self._ctx

    def _wrap(self, sock, host):
        ctx = self._context()
        try:
            return ctx.wrap_socket(sock, server_hostname=host)
        except (OSError, ValueError) as e:  # MicroPython raises ValueError on verify failure
            reason = _why(e) if isinstance(e, OSError) else ""
            if reason in ("timeout", "connection reset", "connection refused"):
                raise NetworkError("TLS handshake: " + reason)
            raise TLSError("TLS: " + _tls_reason(getattr(e, "verify_message", None) or str(e)))

    def request(self, method, url, fields=None, json=None, headers=None, bearer=None):
        try:
            scheme, host, port, path = urls.split_url(url)
        except ValueError as e:
            raise DevicePairError("refused URL: " + str(e))
        if scheme == "http" and not (self.allow_insecure_http and urls.is_loopback_host(host)):
            raise DevicePairError("refused URL: use https:// (http:// only for loopback)")
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
        if bearer:
            hdrs["Authorization"] = "Bearer " + bearer
        if body is not None:
            hdrs["Content-Type"] = ctype
            hdrs["Content-Length"] = str(len(body))
        for k in hdrs:
            head.append("%s: %s\r\n" % (k, hdrs[k]))
        head.append("\r\n")
        head = "".join(head).encode()
        deadline = ticks_add(ticks_ms(), self.timeout_ms)
        raw = sock = None
        so = self._socket
        try:
            try:
                ai = so.getaddrinfo(host, port, 0, so.SOCK_STREAM)[0]
            except OSError:
                raise NetworkError("DNS lookup failed for " + host)
            raw = sock = so.socket(ai[0], so.SOCK_STREAM)
            sock.settimeout(self.timeout_ms / 1000)
            sock.connect(ai[-1])
            if scheme == "https":
                sock = self._wrap(raw, host)
            _send(sock, head)
            if body is not None:
                _send(sock, body)
            del head, body
            return self._read_response(_Reader(sock, deadline, self._buf))
        except OSError as e:
            raise NetworkError(_why(e))
        except MemoryError:  # a fragmented heap must not crash the app: report and go on
            raise no_memory()
        finally:
            if sock is not None:
                sock.close()
            if raw is not None and raw is not sock:
                raw.close()

    def _read_response(self, r):
        status_line = r.readline()
        parts = status_line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
            raise ResponseError("not an HTTP response")
        try:
            status = int(parts[1])
        except ValueError:
            raise ResponseError("not an HTTP response")
        length = -1
        chunked = False
        ctype = ""
        retry_after = None
        for _ in range(_MAX_HEADERS):
            line = r.readline()
            if not line:
                break
            k, _, v = line.partition(b":")
            k = k.strip().lower()
            v = v.strip()
            if k == b"content-length":
                try:
                    length = int(v)
                except ValueError:
                    raise ResponseError("bad Content-Length", status)
            elif k == b"transfer-encoding":
                chunked = b"chunked" in v.lower()
            elif k == b"content-type":
                ctype = v.decode().lower()
            elif k == b"retry-after":
                try:
                    retry_after = int(v)
                except ValueError:
                    pass  # an HTTP-date: the caller's own backoff applies
        else:
            raise ResponseError("too many headers", status)
        cap = self.max_body
        if chunked:
            out = bytearray()
            while True:
                size_line = r.readline().split(b";")[0].strip()
                try:
                    n = int(size_line, 16)
                except ValueError:
                    raise ResponseError("bad chunked body", status)
                if n == 0:
                    while r.readline():  # trailers
                        pass
                    break
                if len(out) + n > cap:
                    raise ResponseError("response too large (over %d bytes)" % cap, status)
                r.extend(out, n)
                r.readline()
        elif length >= 0:
            if length > cap:
                raise ResponseError("response too large (%d bytes, limit %d)" % (length, cap),
                                    status)
            out = bytearray(length)
            r.read_into(out, 0, length)
        else:
            out = r.read_to_eof(bytearray(), cap)
        return Response(status, ctype, retry_after, out)
