"""TLS for the transport: the verifying context from DER CA certificates, and what a failed
handshake means.

Why its own module: http.py loads it to build its context (once per transport) and to judge a
failed handshake, and drops it again after each: the heap it would hold is better left to the
TLS buffers (~23 KB of a Pico W's GC heap per connection). Several roots are accepted because
providers rotate them: one ``load_verify_locations`` per certificate, since the board's mbedtls
keeps only the FIRST certificate of a concatenated DER blob (tools/pem2der.py). A handshake that
ran out of memory is ``OutOfMemory`` (transient), never "certificate rejected": on a Pico W
mbedtls takes its ~23 KB from the GC heap and reports a verification it could not allocate for
as "not correctly signed by the trusted CA". This module must never weaken verification
(CERT_REQUIRED, hostname).
"""

from .errors import DevicePairError, NetworkError, TLSError, OutOfMemory

# ENOMEM, and mbedtls' *_ALLOC_FAILED: SSL, MPI, X509, PK, ECP, ASN1
_NOMEM = (12, -0x7F00, -0x0010, -0x2880, -0x3F80, -0x4D80, -0x006A)
_REASONS = (("signed by the trusted", "unknown CA"), ("local issuer", "unknown CA"),
            ("self-signed", "unknown CA"), ("Common Name", "wrong hostname"),
            ("ostname mismatch", "wrong hostname"), ("expired", "certificate expired"),
            ("future", "certificate not yet valid"),
            ("not yet valid", "certificate not yet valid"))
_NET = {110: "timeout", 11: "timeout", 104: "connection reset", 32: "connection reset",
        111: "connection refused", -0x7280: "connection closed"}  # MBEDTLS_ERR_SSL_CONN_EOF


def der_certs(data):
    """Split one or more concatenated DER certificates -> [bytes]; ValueError if not DER."""
    out = []
    i, n = 0, len(data)
    while i < n:
        if data[i] != 0x30 or i + 2 > n:
            raise ValueError("not DER")
        b = data[i + 1]
        hdr, size = 2, b
        if b >= 0x80:
            hdr = 2 + (b & 0x7F)
            if hdr > 5 or hdr == 2 or i + hdr > n:
                raise ValueError("not DER")
            size = int.from_bytes(bytes(data[i + 2:i + hdr]), "big")
        end = i + hdr + size
        if end > n:
            raise ValueError("truncated DER")
        out.append(bytes(data[i:end]))
        i = end
    if not out:
        raise ValueError("empty")
    return out


def context(s, cadata):
    """A verifying client SSLContext of the ssl module ``s`` for ``cadata``: DER bytes (one or
    several concatenated certificates) or a list of them; None = the host's own store (CPython)."""
    if s is None:
        raise TLSError("TLS: this firmware has no ssl module")
    ctx = s.SSLContext(s.PROTOCOL_TLS_CLIENT)
    ctx.verify_mode = s.CERT_REQUIRED
    if hasattr(ctx, "check_hostname"):
        ctx.check_hostname = True
    if cadata:
        try:
            if isinstance(cadata, (bytes, bytearray, memoryview)):
                if bytes(cadata[:11]) == b"-----BEGIN ":
                    raise ValueError("PEM; convert it with tools/pem2der.py")
                cadata = (cadata,)
            for blob in cadata:
                for der in der_certs(blob):
                    ctx.load_verify_locations(cadata=der)
        except (OSError, ValueError, TypeError) as e:
            raise TLSError("TLS: CA certificate unreadable (%s)" % " ".join(str(e).split())[:40])
    elif hasattr(ctx, "load_default_certs"):  # CPython host tools
        ctx.load_default_certs()
    else:
        raise TLSError("TLS: no CA certificate configured (ca_file)")
    return ctx


def _reason(text, host):
    """Both runtimes' verification messages -> one short reason for the screen."""
    for needle, reason in _REASONS:
        if needle in text:
            if reason == "unknown CA":
                return "unknown CA for " + host
            if "valid" in reason or "expired" in reason:
                reason += " (is the clock set?)"
            return "certificate rejected: " + reason
    return "handshake failed (" + " ".join(text.split())[:60] + ")"


def failure(e, host, low=None):
    """The typed error for exception ``e`` out of a TLS handshake with ``host``. ``low``: the
    GC heap left after wrap_socket when mbedtls lives in the GC heap and left little of it."""
    if isinstance(e, DevicePairError):
        if e.message == "timeout":
            return NetworkError("TLS handshake: timeout")
        return e
    if isinstance(e, MemoryError):
        return OutOfMemory("TLS: out of memory")
    code = getattr(e, "errno", None)
    if code is None and e.args and isinstance(e.args[0], int):
        code = e.args[0]
    text = str(getattr(e, "verify_message", None) or e)
    if code in _NOMEM or "alloc" in text.lower():
        return OutOfMemory("TLS: out of memory")
    if isinstance(e, OSError):
        if code in _NET:
            return NetworkError("TLS handshake: " + _NET[code])
        if "timed out" in text:
            return NetworkError("TLS handshake: timeout")
        if "EOF" in text:  # CPython's SSLEOFError
            return NetworkError("TLS handshake: connection closed")
    reason = _reason(text, host)
    if low is not None and reason.startswith("unknown CA"):
        return OutOfMemory("TLS: out of memory (%d KB free)" % (low // 1024))
    return TLSError("TLS: " + reason)
