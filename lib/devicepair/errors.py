"""Errors a user can read.

Every failure the device can meet becomes one of these, with a short ``message`` fit for a
128x64 screen and a serial log. Nothing here may contain a token.
"""


class DevicePairError(Exception):
    """Base class. ``message`` is short and human; ``transient`` means retrying may help."""

    transient = False

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def __str__(self):
        return self.message


class ConfigError(DevicePairError):
    """config.json is missing, unreadable, or a field is wrong. ``field`` names it."""

    def __init__(self, field, problem):
        DevicePairError.__init__(self, "config: " + field + " " + problem)
        self.field = field


class NetworkError(DevicePairError):
    """DNS, connect, reset or timeout: the request may succeed if tried again."""

    transient = True


class OutOfMemory(NetworkError):
    """The heap could not hold what a request needs - on a Pico W, mbedtls takes ~23 KB of the
    GC heap per TLS connection. Transient: the garbage that splits the heap is collected
    before the retry. Never reported as a certificate error."""


class TLSError(DevicePairError):
    """Certificate or handshake refused. Never retried without verification."""


class HeaderError(DevicePairError):
    """A request header (name or value: a token, a user agent...) holds CR, LF or NUL, or a
    name is not an HTTP token: refused before a byte is sent, so nothing can be injected."""


class ResponseError(DevicePairError):
    """The server answered, but not usefully: bad status, malformed or oversized body.

    ``status`` is the HTTP status (0 when unknown). 5xx and 429 are transient;
    ``retry_after`` carries a Retry-After in seconds when the server sent one.
    """

    def __init__(self, message, status=0, retry_after=None):
        DevicePairError.__init__(self, message)
        self.status = status
        self.retry_after = retry_after
        self.transient = status >= 500 or status == 429


class ProviderError(DevicePairError):
    """An OAuth error from the server: ``error`` code and optional ``description``."""

    def __init__(self, error, description=None, status=0):
        msg = error
        if description:
            msg = error + ": " + description
        DevicePairError.__init__(self, msg)
        self.error = error
        self.description = description
        self.status = status


class PairingRequired(ProviderError):
    """The refresh token is gone (``invalid_grant``): the device must pair again."""


class StorageError(DevicePairError):
    """Flash refused a write (full, worn). Transient: what was to be written is kept in RAM
    and the write is tried again."""

    transient = True
