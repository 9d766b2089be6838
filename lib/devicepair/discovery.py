"""OpenID Connect discovery on the board, without holding the document.

A discovery document is several KB (Keycloak's is over 6 KB) and the device needs three of its
URLs. ``extract`` scans the byte stream in small chunks with a tiny JSON tokenizer and keeps
only the top-level string values of the wanted keys (``mtls_endpoint_aliases`` repeats the
same key names one level down: those are ignored). It handles keys split across chunks,
escapes (``\\/``, ``\\uXXXX``), any whitespace, and refuses a document over ``limit`` bytes;
it never holds more than one 128-byte chunk plus one string of at most ``MAX_VALUE`` bytes.
``fetch`` does one GET with the app's Transport settings (TLS, http policy, timeout, socket
closing) and feeds the body to ``extract`` as it arrives. Provisioning on the host
(tools/discover.py) writes the endpoints into config.json, so most boards never load this.
"""

from .errors import ConfigError, ResponseError, NetworkError
from .http import Transport
from .urls import check_url

KEYS = ("issuer", "device_authorization_endpoint", "token_endpoint", "userinfo_endpoint")
LIMIT = 65536
MAX_VALUE = 512
_ESC_IN = b'"\\/bfnrt'
_ESC_OUT = b'"\\/\x08\x0c\n\r\t'
_HEX = b"0123456789abcdef"


def _err(what):
    return ResponseError("discovery: " + what)


def extract(readinto, keys=KEYS, limit=LIMIT):
    """Scan the stream ``readinto(buf) -> n`` (0 at the end; e.g. a socket's or BytesIO's
    ``readinto``) -> {key: str} of the ``keys`` found as top-level string values. Stops as
    soon as all are found."""
    buf = bytearray(128)
    mv = memoryview(buf)
    val = bytearray(MAX_VALUE)
    vmv = memoryview(val)
    kb = [k.encode() for k in keys]  # keys are compared as bytes: no string per key seen
    n = total = depth = esc = u = 0
    in_str = over = want_key = capture = False
    key = None
    found = {}
    while True:
        k = readinto(mv)
        if not k:
            return found
        total += k
        if total > limit:
            raise _err("document over %d bytes" % limit)
        for i in range(k):
            b = buf[i]
            if in_str:
                if esc == 1:  # the character after a backslash
                    esc = 0
                    if b == 0x75:  # \uXXXX
                        esc, u = 2, 0
                        continue
                    j = _ESC_IN.find(b)
                    if j < 0:
                        raise _err("bad JSON escape")
                    b = _ESC_OUT[j]
                elif esc:
                    j = _HEX.find(b | 0x20)
                    if j < 0:
                        raise _err("bad JSON escape")
                    u = u * 16 + j
                    esc += 1
                    if esc < 6:
                        continue
                    esc = 0
                    b = u if u < 0x80 else 0x3F  # "?": never part of an endpoint URL
                elif b == 0x5C:
                    esc = 1
                    continue
                elif b == 0x22:  # the string ends
                    in_str = False
                    if capture:
                        if want_key:
                            want_key = False
                            key = None
                            for j in range(len(kb)):
                                if len(kb[j]) == n and vmv[:n] == kb[j]:
                                    key = keys[j]
                        elif key is not None:
                            if not over:
                                found[key] = bytes(val[:n]).decode()
                                if len(found) == len(keys):
                                    return found
                            key = None
                    continue
                if capture:
                    if n < MAX_VALUE:
                        val[n] = b
                        n += 1
                    else:
                        over = True
            elif b == 0x22:
                in_str = True
                n = 0
                over = False
                capture = depth == 1 and (want_key or key is not None)
            elif b == 0x7B or b == 0x5B:  # { [
                if depth == 0 and b != 0x7B:
                    raise _err("not a JSON object")
                depth += 1
                want_key = depth == 1
                if depth == 2:
                    key = None  # an object or array value: not a URL
            elif b == 0x7D or b == 0x5D:  # } ]
                depth -= 1
                if depth <= 0:
                    return found
            elif depth == 1 and b == 0x2C:  # ,
                want_key = True
                key = None
            elif depth == 0 and b not in b" \t\r\n":
                raise _err("not a JSON object")


def _read(t, r):
    """Transport._read_response for one discovery GET: headers, then the body streamed from
    the transport's receive buffer (Content-Length, chunked, or up to EOF) into extract."""
    line = r.readline().split(None, 2)
    status = int(line[1]) if len(line) > 1 and line[1].isdigit() else 0
    if not line or not line[0].startswith(b"HTTP/"):
        raise ResponseError("not an HTTP response")
    left = -1  # -1: until the server closes
    chunked = False
    for _ in range(64):
        h = r.readline()
        if not h:
            break
        k, _, v = h.partition(b":")
        k = k.strip().lower()
        if k == b"content-length" and v.strip().isdigit():
            left = int(v)
        elif k == b"transfer-encoding":
            chunked = b"chunked" in v.lower()
    if status != 200:
        raise ResponseError("discovery failed (HTTP %d)" % status, status)
    st = [0 if chunked else left, True]

    def body(out):
        if chunked and st[0] == 0:
            if not st[1]:
                r.readline()  # the CRLF after a chunk
            st[1] = False
            try:
                st[0] = int(r.readline().split(b";")[0].strip(), 16)
            except ValueError:
                raise _err("bad chunked body")
        if st[0] == 0:
            return 0
        if r.pos >= r.end and not r._fill():
            if st[0] < 0:
                return 0
            raise NetworkError("connection closed mid-body")
        k = min(r.end - r.pos, len(out))
        if st[0] > 0:
            k = min(k, st[0])
            st[0] -= k
        out[:k] = r.mv[r.pos:r.pos + k]
        r.pos += k
        return k

    return extract(body, t._keys, t.max_body)


def fetch(transport, url, keys=KEYS, limit=LIMIT):
    """GET ``url`` with ``transport``'s settings -> {key: value} of the ``keys`` found."""
    t = Transport(transport.cadata, transport.allow_insecure_http, transport.timeout_ms,
                  limit, transport._socket, transport._ssl)
    t._ctx = transport._ctx
    t._buf = transport._buf
    t._keys = keys
    t._read_response = lambda r: _read(t, r)
    return t.request("GET", url)


def endpoints(client, issuer, transport, insecure=False):
    """The endpoints ``client`` (a client.Client) lacks, from ``issuer``'s discovery document:
    {field: url} for ``client.with_endpoints``. Endpoints set in config.json stay, so the
    document only has to name what is missing. It must name the same issuer (OpenID
    Discovery 4.3)."""
    iss = issuer.rstrip("/")
    check_url("issuer", iss + "/", insecure)
    found = fetch(transport, iss + "/.well-known/openid-configuration")
    if (found.get("issuer") or "").rstrip("/") != iss:
        raise _err("issuer does not match (%s)" % (found.get("issuer") or "none")[:60])
    out = {}
    for k in KEYS[1:]:
        attr = "whoami_url" if k == "userinfo_endpoint" else k
        if getattr(client, attr, None) is not None:
            continue  # configured: kept, whatever the document says
        v = found.get(k)
        if v is None:
            if attr == "whoami_url":
                continue
            raise _err("the issuer has no " + k)
        try:
            check_url(k, v, insecure)
        except ConfigError as e:
            raise _err(e.message[8:])
        out[attr] = v
    if client.refresh_endpoint is None:
        out["refresh_endpoint"] = out.get("token_endpoint") or client.token_endpoint
    return out
