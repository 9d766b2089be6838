"""application/x-www-form-urlencoded, both ways.

The board has no ``urllib``. OAuth requests are form-encoded (RFC 6749 section 4.1.3) and some
providers (GitHub without ``Accept: application/json``) answer form-encoded too.
"""

_HEX = b"0123456789abcdefABCDEF"
_SAFE = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"


def quote(s):
    """Percent-encode one value (UTF-8; space as '+').

    Tokens (an Entra refresh token is ~1.5 KB) are all safe characters: returned as they are,
    without a per-character list that would need one 8-16 KB block on a fragmented heap."""
    if not isinstance(s, (bytes, bytearray)):
        s = str(s)
        for ch in s:
            if ord(ch) > 126 or ord(ch) not in _SAFE:
                break
        else:
            return s
        s = s.encode()
    out = bytearray()
    for b in s:
        if b in _SAFE:
            out.append(b)
        elif b == 32:
            out.append(43)
        else:
            out.extend(b"%%%02X" % b)
    return out.decode()


def urlencode(fields):
    """dict (or list of pairs) -> ``a=1&b=x+y``; None values are left out."""
    items = fields.items() if hasattr(fields, "items") else fields
    return "&".join(quote(k) + "=" + quote(v) for k, v in items if v is not None)


def unquote(s):
    """Decode one component ('+' is a space). Bad escapes stay as they are."""
    b = s.replace("+", " ").encode()
    if b"%" not in b:
        return s.replace("+", " ")
    out = bytearray()
    i, n = 0, len(b)
    while i < n:
        c = b[i]
        if c == 37 and i + 2 < n and b[i + 1] in _HEX and b[i + 2] in _HEX:
            out.append(int(b[i + 1:i + 3], 16))
            i += 3
            continue
        out.append(c)
        i += 1
    return out.decode()


def parse_form(text):
    """``a=1&b=x+y`` -> dict. Keys without '=' map to ''."""
    d = {}
    for part in text.split("&"):
        if part:
            k, _, v = part.partition("=")
            d[unquote(k)] = unquote(v)
    return d
