"""On-board OIDC discovery (both interpreters): the streaming extraction of three endpoints
from a document fed in chunks of any size, its limits, and ``fetch``/``resolve`` against the
Keycloak fake (Content-Length and chunked documents, 404, a mismatching issuer)."""

# The device flow (hardened parsing, URI checks, resume) with HTTP and this module: 64 KB
# became the edge on the 64-bit unix port; a 32-bit board needs less.
MP_HEAP = "96K"

import os

from devicepair import discovery as D
from devicepair.http import Transport
from devicepair.errors import ConfigError, ResponseError

DOC = (b'{ "mtls_endpoint_aliases" : {"token_endpoint": "https://mtls/t",'
       b' "device_authorization_endpoint":"https://mtls/d"},\n\t"issuer":"https:\\/\\/id.example",'
       b'"scopes_supported":["token_endpoint","x"], "n": 12, "ok": true, "nil": null,'
       b'"token_endpoint"  :\r\n "https:\\/\\/id.example\\/t\\u006fken",'
       b'"quote":"a \\"token_endpoint\\": \\"https://evil\\" \\\\",'
       b'"userinfo_endpoint": "https://id.example/me",'
       b'"device_authorization_endpoint": "https://id.example/device"}  ')
WANT = {"issuer": "https://id.example", "token_endpoint": "https://id.example/token",
        "userinfo_endpoint": "https://id.example/me",
        "device_authorization_endpoint": "https://id.example/device"}


class Chunks:
    """A stream of ``data`` (bytes, or a list of (bytes, times) pieces: large documents without
    holding them) handing out at most ``size`` bytes per readinto; counts the calls."""

    def __init__(self, data, size):
        self.parts = [(data, 1)] if isinstance(data, bytes) else list(data)
        self.pos = 0
        self.size = size
        self.calls = 0

    def readinto(self, buf):
        self.calls += 1
        while self.parts and self.pos >= len(self.parts[0][0]):
            piece, times = self.parts.pop(0)
            self.pos = 0
            if times > 1:
                self.parts.insert(0, (piece, times - 1))
        if not self.parts:
            return 0
        piece = self.parts[0][0]
        k = min(self.size, len(buf), len(piece) - self.pos)
        buf[:k] = piece[self.pos:self.pos + k]
        self.pos += k
        return k


def test_extract_any_chunk_size():
    for size in (1, 2, 3, 5, 7, 16, 64, 128):
        assert D.extract(Chunks(DOC, size).readinto) == WANT, size


def test_extract_stops_early_and_ignores_what_it_does_not_need():
    s = Chunks([(DOC, 1), (b"x" * 100, 1000)], 128)
    assert D.extract(s.readinto) == WANT  # garbage after the object is never read
    assert s.calls < 10
    got = D.extract(Chunks(b'{"a": {"issuer": "x"}, "token_endpoint": 5, "issuer": ['
                           b'"y"], "userinfo_endpoint": "' + b"u" * 600 + b'"}', 7).readinto)
    assert got == {}  # nested, not a string, or longer than MAX_VALUE: none of them


def test_extract_limits_and_errors():
    for doc, why in (([(b'{"x": "', 1), (b"a" * 100, 700), (b'"}', 1)], "over 65536"),
                     (b'["issuer", "x"]', "not a JSON object"),
                     (b'  <html>', "not a JSON object"),
                     (b'{"issuer": "a\\q"}', "bad JSON escape"),
                     (b'{"issuer": "\\u00zz"}', "bad JSON escape")):
        try:
            D.extract(Chunks(doc, 64).readinto)
            assert False, why
        except ResponseError as e:
            assert why in e.message, (why, e.message)
    assert D.extract(Chunks(b'{"issuer": "x"', 3).readinto) == {"issuer": "x"}  # cut short
    assert D.extract(Chunks(b"", 3).readinto) == {}


def _kc():
    u = os.getenv("DEVICEPAIR_FAKE_KEYCLOAK")
    assert u, "run through pytest"
    return u


def test_fetch_content_length_and_chunked_documents():
    t = Transport(allow_insecure_http=True, timeout_ms=5000)
    for realm in ("devices", "iot"):  # iot: chunked, indented, escaped slashes
        iss = _kc() + "/realms/" + realm
        got = D.fetch(t, iss + "/.well-known/openid-configuration")
        oc = iss + "/protocol/openid-connect"
        assert got == {"issuer": iss, "token_endpoint": oc + "/token",
                       "userinfo_endpoint": oc + "/userinfo",
                       "device_authorization_endpoint": oc + "/auth/device"}, realm
    try:
        D.fetch(t, _kc() + "/realms/iot/.well-known/openid-configuration", limit=2000)
        assert False
    except ResponseError as e:
        assert "over 2000" in e.message


def test_resolve_issuer_problems():
    from devicepair import providers as P

    t = Transport(allow_insecure_http=True, timeout_ms=5000)
    class c:
        pass

    c.provider = "generic"
    c.allow_insecure_http = True
    c.provider_params = {"issuer": _kc() + "/realms/gone"}
    p = P.resolve(c)  # no network yet (the app discovers after Wi-Fi): endpoints left open
    assert p.issuer == _kc() + "/realms/gone" and p.token_endpoint is None
    c.provider_params = {"issuer": "http://idp.example/realms/x"}  # http off loopback
    try:
        P.resolve(c)
        assert False
    except ConfigError as e:
        assert e.field == "issuer"
    c.provider_params = {"issuer": _kc() + "/realms/gone"}
    try:
        P.resolve(c, t)
        assert False
    except ResponseError as e:
        assert e.status == 404 and "discovery failed" in e.message
    c.provider_params = {"issuer": _kc() + "/realms/moved"}  # a stale frontend URL
    try:
        P.resolve(c, t)
        assert False
    except ResponseError as e:
        assert "issuer does not match (https://sso.example/realms/moved)" in e.message
    c.provider_params = {"issuer": _kc() + "/realms/devices/"}  # a trailing slash is fine
    p = P.resolve(c, t)
    assert p.token_endpoint == _kc() + "/realms/devices/protocol/openid-connect/token"
    assert p.refresh_endpoint == p.token_endpoint and p.whoami_url.endswith("/userinfo")
