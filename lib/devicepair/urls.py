"""URL parsing and the one rule for plain http, shared by config.py and the http transport.

The board has no ``urllib``; this is the small subset a device-flow client needs:
``split_url`` turns ``https://host:port/path?q`` into ``(scheme, host, port, path)``;
``is_loopback_host`` says whether a host never leaves the machine; ``check_url`` applies
the policy: https always, http only for 127.0.0.1/localhost/::1 and only when the config
says ``allow_insecure_http`` (local test servers). Tokens and secrets sent over plain http
to anything else could be read by anyone on the Wi-Fi, so there is no other way round it.
"""

from devicepair.errors import ConfigError

MAX_URL = 1024
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
HTTP_RULE = "must be https:// (http:// only for 127.0.0.1/localhost with allow_insecure_http)"


def is_loopback_host(host):
    """True for 127.0.0.1, localhost and ::1 (brackets and case ignored), nothing else."""
    if not isinstance(host, str):
        return False
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host.lower() in _LOOPBACK


def _port(text):
    if not text or len(text) > 5 or not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ValueError("has a bad port (use 1-65535)")
    return int(text)


def split_url(url):
    """``(scheme, host, port, path)`` of an http(s) URL, or ValueError with a short reason.

    scheme and host come back lower case, host without brackets (``::1``), port defaults to
    443/80, path starts with "/" and keeps the query. Refused: non-ASCII or spaces,
    user:password@, a #fragment, a missing host, a bad port.
    """
    if not isinstance(url, str):
        raise ValueError("must be a URL string")
    if len(url) > MAX_URL:
        raise ValueError("is longer than %d characters" % MAX_URL)
    for c in url:
        if not 0x20 < ord(c) < 0x7F:
            raise ValueError("must be plain ASCII without spaces (percent-encode the rest)")
    i = url.find("://")
    scheme = url[:i].lower() if i > 0 else ""
    if scheme != "https" and scheme != "http":
        raise ValueError("must start with https://")
    rest = url[i + 3:]
    j = len(rest)
    for sep in "/?#":
        k = rest.find(sep)
        if 0 <= k < j:
            j = k
    netloc, path = rest[:j], rest[j:]
    if "#" in path:
        raise ValueError("must not contain a #fragment")
    if not path.startswith("/"):
        path = "/" + path
    if "@" in netloc:
        raise ValueError("must not contain user:password@")
    port = 443 if scheme == "https" else 80
    if netloc.startswith("["):
        k = netloc.find("]")
        host, tail = netloc[1:k], netloc[k + 1:]
        if k < 0 or ":" not in host or (tail and not tail.startswith(":")):
            raise ValueError("has a bad host")
        if tail:
            port = _port(tail[1:])
    else:
        host, colon, p = netloc.partition(":")
        if ":" in p:
            raise ValueError("has a bad host (write IPv6 addresses in [brackets])")
        if colon:
            port = _port(p)
    if not host:
        raise ValueError("has no host")
    return scheme, host.lower(), port, path


def check_url(field, url, allow_insecure_http):
    """``split_url(url)``, or ConfigError(field, why) when the URL is malformed or unsafe."""
    try:
        parts = split_url(url)
    except ValueError as e:
        raise ConfigError(field, str(e))
    if parts[0] == "http" and not (allow_insecure_http is True and is_loopback_host(parts[1])):
        raise ConfigError(field, HTTP_RULE)
    return parts
