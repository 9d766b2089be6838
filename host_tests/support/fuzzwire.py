"""Hostile server responses, generated, and fed through the real transport and the device flow,
session and app (CPython and MicroPython).

Why one generator with two drivers: hypothesis (CPython) shrinks a failure to its smallest
input only when it makes every choice itself, and MicroPython has no hypothesis. So every
response is built by ``response(ch, kind)`` from a chooser ``ch`` with ``int(lo, hi)``: on
CPython ``HypChooser`` draws each choice from hypothesis, on both interpreters ``SeedChooser``
draws it from a small seeded PRNG (the replayed corpus, host_tests/both/test_fuzz_corpus.py).

The bytes reach the code through ``FakeSockets``, a socket module handed to
``Transport(socket_module=...)``: each connection plays the next response, split into reads of
a drawn size, and records what the client sent. ``exercise(ch)`` runs one case and raises
AssertionError when the property breaks: every outcome is a normal result or a
``DevicePairError`` with a readable ``message`` (never a raw exception, never "internal error"
on the app's screen), no header line the client wrote holds CR, LF or NUL, and no token (each
generated token carries ``MARK``) appears in a message, a log line or a screen.
"""

import json

from appfakes import ScriptedButton
from fakefs import FakeFS
from devicepair import app as A
from devicepair import device_flow as df
from devicepair.client import Client
from devicepair.errors import DevicePairError, ResponseError
from devicepair.http import Transport
from devicepair.session import Session
from devicepair.tokens import TokenStore

MARK = "SeCrEt"  # in every generated token; found anywhere but on the wire = a leak
BASE = "http://127.0.0.1:8080"
KINDS = ("device", "token", "refresh", "whoami", "app")
# A chunk-size line the transport must not obey: "-5" moved its reader backwards forever
# (issue 9); the hardened transport refuses it, so they are generated.
NEGATIVE_CHUNKS = True


class SeedChooser:
    """Choices from a xorshift32 PRNG: the same seed, the same case, on both interpreters."""

    def __init__(self, seed):
        self.s = (seed * 2654435761 + 1) & 0xFFFFFFFF or 1

    def int(self, lo, hi):
        s = self.s
        s ^= (s << 13) & 0xFFFFFFFF
        s ^= s >> 17
        s ^= (s << 5) & 0xFFFFFFFF
        self.s = s
        return lo + s % (hi - lo + 1)


def pick(ch, seq):
    return seq[ch.int(0, len(seq) - 1)]


# -- values of every shape and type ----------------------------------------------------------

_B64 = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~+/"
_NASTY = ("\r\n", "\n", "\x00", "\x1b[2J", "\x07", "\u202e", "\u00e9", " ", "\"",
          "\\", "=", "\t", "\x7f", "\x9b", "%0d%0a", "@evil.example")
_RAW_NUM = ("1e999", "-1e999", "NaN", "Infinity", "-0", "1E400", "99999999999999999999999",
            "-1", "0", "1.5", "3600.0", "1e15", "0x10", "+5", "0005", "5e-324")


class Raw:
    """JSON text put in as it is (numbers JSON cannot say, broken escapes)."""

    def __init__(self, text):
        self.text = text


def token(ch, mark=True):
    """A token: usually a b64token, sometimes with a character that must never reach a
    header, sometimes 9 KB. ``mark``: a token of a token field (carries MARK)."""
    n = ch.int(0, 24)
    s = "".join([pick(ch, _B64) for _ in range(n)])
    v = ch.int(0, 9)
    if v == 0:
        s += pick(ch, _NASTY)
    elif v == 1:
        s += "=" * ch.int(1, 3)
    elif v == 2:
        s = "x" * ch.int(500, 9000)
    return ("at-" + MARK + "-" if mark else "at-") + s


def text(ch):
    n = ch.int(0, 6)
    out = []
    for _ in range(n):
        v = ch.int(0, 4)
        out.append(pick(ch, _NASTY) if v == 0 else pick(ch, ("a", "Ada", "x y", "BCDF-GHJK",
                                                             "0", "", "null", "https://")))
    if ch.int(0, 30) == 0:
        out.append("y" * ch.int(100, 5000))
    return "".join(out)


def url(ch):
    return pick(ch, ("https://auth.example/device", "http://127.0.0.1:8080/device",
                     "https://auth.example@evil.example/", "http://auth.example/device",
                     "https://evil.example/device?user_code=X", "javascript:alert(1)",
                     "https://auth.example:99999/", "https://[::1/", "", "https://",
                     "https://auth.example/device?user_code=BCDF-GHJK",
                     "https://auth.example/\r\nX: 1", "ftp://auth.example/"))


def value(ch, depth=0):
    """Any JSON value (or a Raw text JSON may not even allow)."""
    v = ch.int(0, 11 if depth < 3 else 6)
    if v == 0:
        return None
    if v == 1:
        return pick(ch, (True, False))
    if v == 2:
        return ch.int(-5, 5) * pick(ch, (1, 10, 1000, 10 ** 9, 10 ** 20))
    if v == 3:
        return Raw(pick(ch, _RAW_NUM))
    if v == 4:
        return text(ch)
    if v == 5:
        return token(ch, False)
    if v == 6:
        return pick(ch, (0.5, -2.5, 1e300, 3600.0))
    if v == 7:
        return Raw("[" * ch.int(10, 3000) + "]" * ch.int(0, 3000))
    if v == 8:
        return [value(ch, depth + 1) for _ in range(ch.int(0, 3))]
    if v == 9:
        return {pick(ch, ("a", "error", "name", "")): value(ch, depth + 1)
                for _ in range(ch.int(0, 3))}
    if v == 10:
        return Raw(pick(ch, ('"\\ud800"', '"\\u00"', '"\\x41"', "'single'", "01", '"a\nb"',
                             "tru", "[1,]", "{}", '"\\u0000"')))
    return url(ch)


def enc(v):
    """JSON text for a ``value`` (Raw pieces as they are)."""
    if isinstance(v, Raw):
        return v.text
    if isinstance(v, list):
        return "[" + ",".join([enc(x) for x in v]) + "]"
    if isinstance(v, dict):
        return "{" + ",".join([json.dumps(k) + ":" + enc(v[k]) for k in v]) + "}"
    try:
        return json.dumps(v)
    except (ValueError, UnicodeError):  # a lone surrogate on MicroPython
        return '"?"'


_GOOD = {
    "device": lambda: {"device_code": "dev-1", "user_code": "BCDF-GHJK",
                       "verification_uri": "http://127.0.0.1:8080/device",
                       "verification_uri_complete": "http://127.0.0.1:8080/device?c=BCDF-GHJK",
                       "expires_in": 600, "interval": 5},
    "token": lambda: {"access_token": "at-" + MARK + "-ok", "token_type": "Bearer",
                      "expires_in": 3600, "refresh_token": "rt-" + MARK + "-ok",
                      "scope": "openid"},
    "error": lambda: {"error": "authorization_pending"},
    "whoami": lambda: {"sub": "u1", "name": "Ada"},
}
_ERRORS = ("authorization_pending", "slow_down", "access_denied", "expired_token",
           "invalid_grant", "invalid_client", "server_error", "temporarily_unavailable", "")


def body_dict(ch, kind, most=4):
    """A response object for ``kind``: the good one, then up to ``most`` fields removed,
    retyped or added."""
    d = _GOOD[kind]()
    if kind == "error":
        d["error"] = pick(ch, _ERRORS)
        if ch.int(0, 1):
            d["error_description"] = value(ch)
        if ch.int(0, 3) == 0:
            d["interval"] = value(ch)
    keys = list(d)
    for _ in range(ch.int(0, most)):
        v = ch.int(0, 3)
        k = pick(ch, keys)
        if v == 0:
            d.pop(k, None)
        elif v == 1 and k in d:
            if k in ("access_token", "refresh_token", "id_token"):
                d[k] = token(ch)
            elif k.startswith("verification"):
                d[k] = url(ch)
            else:
                d[k] = value(ch)
        elif v == 2:
            d[k] = value(ch)
        else:
            d[pick(ch, ("id_token", "token_type", "message", "error", "scope", "expires_in",
                        "interval", "displayName", "login", "x"))] = value(ch)
    return d


def body(ch, kind):
    """(content type, body bytes): JSON of the kind, a form body, or no JSON at all."""
    shape = ch.int(0, 9)
    if shape <= 5:
        d = body_dict(ch, kind)
        b = enc(d).encode()
        ctype = "application/json"
    elif shape == 6:
        d = body_dict(ch, kind)
        parts = []
        for k in d:
            v = d[k]
            s = v.text if isinstance(v, Raw) else v if isinstance(v, str) else enc(v)
            parts.append(k + "=" + pick(ch, (s, s.replace(" ", "+"), "%FF%FE", "%0D%0A", "%")))
        b = "&".join(parts).encode()
        ctype = "application/x-www-form-urlencoded"
    elif shape == 7:
        b = pick(ch, (b"", b"null", b"[]", b"42", b'"str"', b"<html>502</html>", b"\xff\xfe",
                      b"{" * 200, b"\x00" * 10, b'{"a":1}{"b":2}'))
        ctype = pick(ch, ("application/json", "text/html", ""))
    elif shape == 8:
        b = enc(value(ch)).encode()
        ctype = "application/json"
    else:
        b = enc(body_dict(ch, kind)).encode()
        ctype = pick(ch, ("application/json; charset=utf-8", "APPLICATION/JSON", "text/plain",
                          "application/x-www-form-urlencoded; charset=\xff"))
    cut = ch.int(0, 7)
    if cut == 0 and b:  # truncated
        b = b[:ch.int(0, len(b) - 1)]
    elif cut == 1 and b:  # a byte flipped to a control or non-UTF-8 byte
        i = ch.int(0, len(b) - 1)
        b = b[:i] + pick(ch, (b"\x00", b"\r", b"\n", b"\xff", b"\xc3", b"\x1b")) + b[i + 1:]
    return ctype, b


def status_line(ch, kind):
    v = ch.int(0, 9)
    if v <= 6:
        code = pick(ch, (200, 200, 200, 400, 400, 401, 403, 428, 429, 500, 503, 204, 302))
        if kind == "token" and ch.int(0, 1):
            code = pick(ch, (400, 403, 428))
        return b"HTTP/1.1 " + str(code).encode() + b" X"
    return pick(ch, (b"HTTP/1.1 999 Odd", b"HTTP/1.0 200", b"HTTP/1.1 -1 X", b"HTTP/1.1 2OO OK",
                     b"HTTP/1.1", b"ICY 200 OK", b"", b"HTTP/1.1 200 \xff\xfe",
                     b"HTTP/1.1 100000000000000000000 X", b"\x00HTTP/1.1 200 OK"))


GENERATED = [0]  # responses generated so far (the count the fuzz test prints)


def response(ch, kind):
    """One complete (or broken) HTTP response for a request of ``kind``, as bytes."""
    GENERATED[0] += 1
    if ch.int(0, 2) == 0:  # well framed, only the values hostile: reaches the deeper code
        d = body_dict(ch, kind, 2)
        b = enc(d).encode()
        code = pick(ch, (200, 200, 400)) if kind != "whoami" else pick(ch, (200, 200, 401))
        return (b"HTTP/1.1 " + str(code).encode() + b" X\r\nContent-Type: application/json\r\n"
                b"Content-Length: " + str(len(b)).encode() + b"\r\n\r\n" + b)
    ctype, b = body(ch, kind)
    head = [status_line(ch, kind)]
    if ch.int(0, 15) == 0:  # an interim response first
        head = [b"HTTP/1.1 " + pick(ch, (b"100 Continue", b"103 Early Hints")), b"", head[0]]
    if ctype and ch.int(0, 9):
        head.append(b"Content-Type: " + ctype.encode())
    framing = ch.int(0, 9)
    tail = b""
    if framing <= 4:
        head.append(b"Content-Length: " + str(len(b)).encode())
    elif framing == 5:
        n = pick(ch, (len(b) + ch.int(1, 50), max(0, len(b) - ch.int(1, 50)), 10 ** 9, -1,
                      "abc", "1e3", "  12  ", "0x10", ""))
        head.append(b"Content-Length: " + str(n).encode())
    elif framing == 6:
        head.append(b"Transfer-Encoding: chunked")
        out = []
        i = 0
        while i < len(b):
            k = ch.int(1, 64)
            out.append(("%x" % len(b[i:i + k])).encode() + b"\r\n" + b[i:i + k] + b"\r\n")
            i += k
        out.append(b"0\r\n\r\n")
        if ch.int(0, 3) == 0:  # a broken size line somewhere
            j = ch.int(0, len(out) - 1)
            bad = [b"zz", b"", b"ffffffffffffffff", b"1;ext=\x00", b"\xff", b"10000000000"]
            if NEGATIVE_CHUNKS:
                bad.append(b"-5")
            out[j] = pick(ch, bad) + b"\r\n" + out[j].split(b"\r\n", 1)[1]
        b = b"".join(out)
    elif framing == 7:
        head.append(b"Content-Length: " + str(len(b)).encode())
        head.append(b"Content-Length: " + str(len(b) + 5).encode())
    # else: no framing, read to EOF
    for _ in range(ch.int(0, 2)):
        head.append(pick(ch, (b"Retry-After: 30", b"Retry-After: -5", b"Retry-After: 1e999",
                              b"Retry-After: 99999999999999999999", b"Retry-After: soon",
                              b"X-Bad: a\rb", b"Set-Cookie: " + b"c" * 1500, b": empty",
                              b"no colon", b"X-Bin: \xff\xfe\x00", b"Content-Type: \xff",
                              b"Retry-After: Wed, 21 Oct 2015 07:28:00 GMT")))
    if ch.int(0, 40) == 0:
        head.extend([b"X-Many: 1"] * 70)
    return b"\r\n".join(head) + b"\r\n\r\n" + b + tail


# -- the wire --------------------------------------------------------------------------------

try:  # MicroPython: a user stream that select.poll can register (a transport that polls)
    from io import IOBase as _Stream
except ImportError:
    _Stream = object

_POLLIN, _POLLOUT, _POLL = 1, 4, 3  # select.POLLIN / POLLOUT, MP_STREAM_POLL


class _Sock(_Stream):
    """Blocking (sendall/recv_into) or non-blocking (write/readinto, polled) alike: the
    whole response is always there, so every poll says ready."""

    def __init__(self, net, data):
        self.net, self.data, self.pos, self.sent = net, data, 0, bytearray()
        net.sent.append(self.sent)

    def settimeout(self, t):
        pass

    def setblocking(self, flag):
        pass

    def connect(self, addr):
        pass

    def ioctl(self, req, arg):
        return arg & (_POLLIN | _POLLOUT) if req == _POLL else 0

    def sendall(self, b):
        self.sent.extend(b)

    def write(self, b):
        self.sent.extend(b)
        return len(b)

    def recv_into(self, mv, n=0):
        return self.readinto(mv)

    def readinto(self, mv):
        if self.net.reset_at is not None and self.pos >= self.net.reset_at:
            raise OSError(104)
        n = min(len(mv), self.net.split, len(self.data) - self.pos)
        mv[:n] = self.data[self.pos:self.pos + n]
        self.pos += n
        return n

    def close(self):
        pass


class FakeSockets:
    """A socket module: connection N plays ``responses[N]``; more connections are refused."""

    SOCK_STREAM = 1
    AF_INET = 2

    def __init__(self, responses, split=256, reset_at=None):
        self.responses = list(responses)
        self.split = split
        self.reset_at = reset_at
        self.sent = []
        self.served = 0
        self.last = None

    def getaddrinfo(self, host, port, af=0, kind=0):
        return [(2, 1, 0, "", (host, port))]

    def socket(self, af=2, kind=1):
        if not self.responses:
            raise OSError(111)
        self.served += 1
        self.last = self.responses.pop(0)
        return _Sock(self, self.last)


def check_sent(net):
    """No header line the client wrote holds CR, LF or NUL (injection)."""
    for req in net.sent:
        req = bytes(req)
        end = req.find(b"\r\n\r\n")
        assert end > 0, req[:200]
        for line in req[:end].split(b"\r\n"):
            assert b"\r" not in line and b"\n" not in line and b"\x00" not in line, line


def check_error(e, where):
    """A DevicePairError with a readable message and no token in it; anything else fails."""
    if not isinstance(e, DevicePairError):
        raise AssertionError("%s: raw %s: %r" % (where, type(e).__name__, e))
    m = e.message
    assert isinstance(m, str) and m.strip(), (where, m)
    assert MARK not in m, (where, "token in message")


class _Clock:
    """A fake clock for flow and app scheduling (the transport's own deadline is real time)."""

    def __init__(self):
        self.t = 1000
        self.unix = 1795435200

    def ticks_ms(self):
        return self.t & ((1 << 30) - 1)

    def ticks_diff(self, a, b):
        return ((a - b + (1 << 29)) & ((1 << 30) - 1)) - (1 << 29)

    def ticks_add(self, a, d):
        return (a + d) & ((1 << 30) - 1)

    def advance(self, ms):
        self.t += ms

    def sleep_ms(self, ms):
        self.t += max(0, ms)

    def unix_time(self):
        return self.unix + self.t // 1000


def _client():
    return Client(client_id="client-1", scope="openid offline_access",
                  device_authorization_endpoint=BASE + "/device", token_endpoint=BASE + "/token",
                  refresh_endpoint=BASE + "/token", whoami_url=BASE + "/me",
                  allow_insecure_http=True)


def _good(kind):
    d = _GOOD[kind]()
    b = json.dumps(d).encode()
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
            + str(len(b)).encode() + b"\r\n\r\n" + b)


class _Log:
    def __init__(self):
        self.lines = []

    def __call__(self, msg):
        assert isinstance(msg, str), msg
        assert MARK not in msg, "token in log line"
        self.lines.append(msg)


class _Screen:
    """Keeps only what a leak check needs: every text it was asked to show."""

    def __init__(self):
        self.errors = []
        self.count = 0

    def __getattr__(self, name):
        scr = self

        def show(*args):
            scr.count += 1
            for a in args:
                assert MARK not in str(a), "token on screen (%s)" % name
            if name == "error":
                scr.errors.append(args[0])
        return show


# Raw exceptions out of http.py (not this campaign's to fix: another engineer hardens it) are
# recorded here, per exception type, with the first response that raised it, and handed on
# as a ResponseError, so the layers above are still tested; everything else must hold.
HTTP_FINDINGS = {}


def _http_finding(e, net):
    k = "http.py: raw " + type(e).__name__
    if k not in HTTP_FINDINGS:
        HTTP_FINDINGS[k] = [0, repr(e)[:120], net.last]
    HTTP_FINDINGS[k][0] += 1
    return ResponseError("(http.py finding) " + type(e).__name__)


class _GuardedResponse:
    def __init__(self, r, net):
        self.r, self.net = r, net
        self.status_code, self.retry_after = r.status_code, r.retry_after
        self.content_type, self.content = r.content_type, r.content

    def data(self):
        try:
            return self.r.data()
        except DevicePairError:
            raise
        except Exception as e:  # noqa: BLE001
            raise _http_finding(e, self.net)

    def json(self):
        try:
            return self.r.json()
        except DevicePairError:
            raise
        except Exception as e:  # noqa: BLE001
            raise _http_finding(e, self.net)


class _GuardedTransport:
    """The real Transport; what escapes it raw becomes an HTTP_FINDINGS entry."""

    def __init__(self, t, net):
        self.t, self.net = t, net

    def request(self, method, url, fields=None, json=None, headers=None, bearer=None):
        try:
            r = self.t.request(method, url, fields=fields, json=json, headers=headers,
                               bearer=bearer)
        except DevicePairError:
            raise
        except Exception as e:  # noqa: BLE001
            raise _http_finding(e, self.net)
        return _GuardedResponse(r, self.net)

    def get(self, url, bearer=None, headers=None):
        return self.request("GET", url, headers=headers, bearer=bearer)

    def post_form(self, url, fields, headers=None):
        return self.request("POST", url, fields=fields, headers=headers)


def _session(net, log):
    t = _GuardedTransport(Transport(allow_insecure_http=True, timeout_ms=2000,
                                    socket_module=net), net)
    clock = _Clock()
    return Session(TokenStore("tokens.json", FakeFS(), clock), t, _client(), clock, log=log)


def _paired(s):
    s.adopt({"access_token": "at-" + MARK + "-old", "refresh_token": "rt-" + MARK + "-old",
             "expires_in": 3600})


def _call(where, fn, *a):
    try:
        return fn(*a)
    except DevicePairError as e:
        check_error(e, where)
    except MemoryError:  # MicroPython: a 9 KB token on a board-sized heap is a fair loss
        return None
    except Exception as e:  # noqa: BLE001 - the property under test
        check_error(e, where)
    return None


def exercise(ch):
    """One fuzz case: draws its kind, 1-5 responses and how they arrive; runs it; returns
    (kind, responses served). AssertionError when the property breaks."""
    kind = pick(ch, KINDS)
    n = ch.int(1, 4)
    split = pick(ch, (256, 256, 1, 7, 100))
    reset = ch.int(0, 400) if ch.int(0, 9) == 0 else None
    log = _Log()
    if kind == "device":
        resp = [response(ch, "device")] + [response(ch, pick(ch, ("token", "error")))
                                           for _ in range(n - 1)]
    elif kind == "token":
        resp = [_good("device")] + [response(ch, pick(ch, ("token", "error", "token")))
                                    for _ in range(n)] + [response(ch, "whoami")]
    elif kind == "refresh":
        resp = [response(ch, pick(ch, ("token", "error")))] + [response(ch, "whoami")
                                                              for _ in range(n)]
    elif kind == "whoami":
        resp = [response(ch, "whoami") for _ in range(n)]
    else:
        resp = [_good("device")] + [response(ch, pick(ch, ("token", "error", "token")))
                                    for _ in range(n)] + [response(ch, "whoami")]
    net = FakeSockets(resp, split, reset)
    s = _session(net, log)
    if kind in ("device", "token"):
        f = df.DeviceFlow(s.transport, s.clock, s.client)
        _call("start", f.start)
        if f.state == df.POLLING:
            for _ in range(8):
                w = _call("step", f.step)
                if f.state != df.POLLING:
                    break
                s.clock.advance(w or 1000)
            if f.state == df.DONE:
                _call("adopt", s.adopt, f.take_tokens())
                _call("api", s.get, BASE + "/api")
            elif f.state != df.POLLING:
                check_error(f.error, "flow " + f.state)
    elif kind == "refresh":
        _paired(s)
        _call("refresh", s.refresh)
        if s.paired:
            _call("api", s.get, BASE + "/api")
    elif kind == "whoami":
        _paired(s)
        _call("whoami", s.whoami)
        if s.paired:
            _call("api", s.get, BASE + "/api")
    else:
        scr = _Screen()
        a = A.App(scr, s.clock, s, button=ScriptedButton(), log=log)
        a.button.press()  # pair
        for _ in range(400):
            w = a.step()
            if not net.responses and a.state in (A.PAIRED, A.ERROR, A.DENIED, A.EXPIRED):
                break
            s.clock.advance(max(w, 1000))
        for m in scr.errors:
            assert "internal error" not in m, m
    check_sent(net)
    return kind, net.served
