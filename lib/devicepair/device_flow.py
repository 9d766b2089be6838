"""The RFC 8628 client: device authorization request, token polling, refresh.

A tick-driven state machine: ``start()`` makes the device authorization request, then each
``step()`` makes at most one token request when one is due and returns how many ms it wants
to wait. It never sleeps, so the button stays responsive. Provider accents (field and error
aliases, headers, padding) come in as a small ``quirks`` dict from ``providers``; this module
never names a provider. It never prints or logs a token.
"""

import gc

from .errors import DevicePairError, ProviderError, ResponseError, PairingRequired
from .urls import is_loopback_host, split_url

GRANT = "urn:ietf:params:oauth:grant-type:device_code"

POLLING = "polling"
DONE = "done"
DENIED = "denied"
EXPIRED = "expired"
FAILED = "failed"
CANCELLED = "cancelled"

DEFAULT_INTERVAL = 5
SLOW_DOWN_MS = 5000
MAX_BACKOFF_MS = 60000
_MAX_INTERVAL = 600
_MAX_EXPIRES = 86400
_MAX_STR = 4096
_LAST_POLL_MS = 1000


def _number(d, key, default, lo, hi):
    """An int field that may arrive as a string; absurd values are a ResponseError."""
    v = d.get(key)
    if v is None:
        return default
    if isinstance(v, bool):
        v = None
    elif isinstance(v, str):
        try:
            v = int(v.strip()) if len(v) < 16 else None
        except ValueError:
            v = None
    elif isinstance(v, float):  # 1e999 is inf, NaN is not equal to itself: both refused
        v = int(v) if v == v and -1e15 < v < 1e15 else None
    if not isinstance(v, int) or not lo <= v <= hi:
        raise ResponseError("server sent a bad %s (%s)" % (key, repr(d.get(key))[:24]))
    return v


def _text(d, key, required=True):
    v = d.get(key)
    if v is None or v == "":
        if required:
            raise ResponseError("server response has no " + key)
        return None
    if not isinstance(v, str) or len(v) > _MAX_STR:
        raise ResponseError("server sent a bad " + key)
    return v


def _safe_uri(v, like):
    """``v`` if it is a URL fit to show and put into a QR code, else None: https (http only
    on a loopback host: development, where the browser runs on the same machine), no user@
    part, and - when ``like`` is given - the same scheme, host and port as ``like`` (the
    verification_uri): a complete URI pointing elsewhere while the text shows the real host
    would be phishing. The board never fetches these URLs itself."""
    try:
        u = split_url(v)
    except ValueError:
        return None
    if u[0] != "https" and not is_loopback_host(u[1]):
        return None
    if like is not None and split_url(like)[:3] != u[:3]:
        return None
    return v


def _b64token(v):
    """RFC 6750 b64token: what may follow "Bearer " in a header - nothing else is sent."""
    n = len(v)
    while n and v[n - 1] == "=":
        n -= 1
    if not n:
        return False
    for ch in v[:n]:
        if not (ch.isalpha() or ch.isdigit()) or ord(ch) > 0x7E:
            if ch not in "-._~+/":
                return False
    return True


def description(d):
    """The server's ``error_description`` fit to show: text only, printable, at most 120
    characters; None otherwise."""
    v = d.get("error_description")
    if not isinstance(v, str):
        return None
    v = "".join([ch if 0x20 <= ord(ch) < 0x7F else "?" for ch in v[:120]]).strip()
    return v or None


def _apply_aliases(d, quirks):
    for src, dst in quirks.get("aliases", {}).items():
        if src in d and dst not in d:
            d[dst] = d.pop(src)
    return d


def oauth_error(d, quirks):
    """The canonical OAuth ``error`` code in a parsed body, or None."""
    err = None
    for f in quirks.get("error_fields", ("error",)):
        err = d.get(f)
        if err:
            break
    if not err or not isinstance(err, str):
        return None
    err = "".join([ch for ch in err[:64] if 0x20 <= ord(ch) < 0x7F]).strip() or "error"
    return quirks.get("errors", {}).get(err, err)


def _transient_status(status):
    return status >= 500 or status == 429


def parse_tokens(d, quirks=None):
    """Validate a token response dict and keep only what the device needs."""
    out = {"access_token": _text(d, "access_token")}
    if not _b64token(out["access_token"]):
        raise ResponseError("server sent a bad access_token")
    for k in ("refresh_token", "scope"):  # no id_token: nothing on the board reads it
        v = _text(d, k, False)
        if v is not None:
            for ch in v:
                if not 0x20 <= ord(ch) < 0x7F:
                    raise ResponseError("server sent a bad " + k)
            out[k] = v
    tt = _text(d, "token_type", False) or "Bearer"
    if tt.lower() != "bearer":  # anything else would be sent wrongly as Bearer: refused
        raise ResponseError("server sent token_type %s, not Bearer" % repr(tt)[:24])
    out["token_type"] = "Bearer"
    out["expires_in"] = _number(d, "expires_in", None, 0, 10 * 365 * 86400)
    return out


def _lift(resp):
    """Take the long token strings out of a JSON token response's body (a bytearray) in
    place, each as one str -> {name: value}; the id_token is only emptied (never used here).
    Why: json.loads grows each string in a buffer 16 bytes at a time and then copies it, so a
    1.5 KB token needs two unbroken 1.5 KB blocks, which a fragmented board heap may not
    have when the tokens arrive (issued once). A value with escapes is left to json.loads;
    a key is only a quoted name followed by ``:`` (inside a JSON string its quotes would be
    escaped)."""
    c, out = resp.content, {}
    if not isinstance(c, bytearray) or "form" in resp.content_type:
        return out
    for key in _LIFT:
        i = 0
        while True:
            i = c.find(key, i)
            if i < 0:
                break
            i += len(key)
            j = _skip_ws(c, i)
            if j >= len(c) or c[j] != 58:  # ":"
                continue
            j = _skip_ws(c, j + 1)
            k = c.find(b'"', j + 1)
            if j < len(c) and c[j] == 34 and k > 0 and c.find(b"\\", j + 1, k) < 0:
                if key != b'"id_token"':
                    try:
                        out[key[1:-1].decode()] = str(memoryview(c)[j + 1:k], "utf-8")
                    except UnicodeError:  # json.loads refuses it below
                        break
                c[j + 1:k] = b""
            break
    return out


def _skip_ws(c, i):
    while i < len(c) and c[i] in b" \t\r\n":
        i += 1
    return i


_LIFT = (b'"access_token"', b'"refresh_token"', b'"id_token"')


def _token_call(transport, url, fields, quirks):
    """POST to the token endpoint -> (status, parsed dict or None, retry_after)."""
    # The answer may be the tokens, issued once: free the garbage before reading it, so a
    # fragmented heap does not lose them (a few ms per poll on a board).
    gc.collect()
    resp = transport.post_form(url, fields, quirks.get("headers"))
    lifted = _lift(resp)
    try:
        d = _apply_aliases(resp.data(), quirks)
        for k in lifted:
            if d.get(k) == "":  # the member was top-level: the lifted value is its own
                d[k] = lifted[k]
    except ResponseError as e:
        if e.transient and not e.status:  # no memory for it now: polling retries it
            raise
        if _transient_status(resp.status_code):
            raise ResponseError("server error %d" % resp.status_code, resp.status_code,
                                resp.retry_after)
        # A truncated or garbled answer is a broken exchange, not a verdict: back off and
        # ask again (while polling, until the deadline), as for a 5xx.
        e = ResponseError("malformed token response (HTTP %d)" % resp.status_code,
                          resp.status_code)
        e.transient = True
        raise e
    return resp.status_code, d, resp.retry_after


def refresh(transport, client, refresh_token):
    """Use a refresh token at ``client.refresh_endpoint``. Returns the new token dict,
    keeping the old refresh token when the server sends none. Raises PairingRequired on
    ``invalid_grant`` (or when the client has no refresh endpoint); network and 5xx errors
    are raised as they are (transient) so the caller keeps the old tokens and retries."""
    quirks = client.quirks or {}
    url = client.refresh_endpoint
    if not url:
        raise PairingRequired("invalid_grant", "no refresh endpoint")
    fields = {"grant_type": "refresh_token", "refresh_token": refresh_token,
              "client_id": client.client_id, "client_secret": client.client_secret}
    status, d, retry_after = _token_call(transport, url, fields, quirks)
    err = oauth_error(d, quirks)
    if err:
        if err in ("invalid_grant", "expired_token"):
            raise PairingRequired(err, description(d), status)
        if _transient_status(status):
            raise ResponseError("server error %d" % status, status, retry_after)
        raise ProviderError(err, description(d), status)
    if status != 200:
        raise ResponseError("refresh failed (HTTP %d)" % status, status, retry_after)
    tokens = parse_tokens(d)
    if "refresh_token" not in tokens:
        tokens["refresh_token"] = refresh_token
    return tokens


class DeviceFlow:
    """One pairing attempt. After ``start()``: ``user_code``, ``verification_uri``,
    ``verification_uri_complete`` (or None), ``message``; ``step()`` until ``state`` is not
    POLLING; then ``tokens`` (DONE) or ``error`` (DENIED / EXPIRED / FAILED)."""

    def __init__(self, transport, clock, client):
        self.transport = transport
        self.clock = clock
        self.client = client
        self.quirks = client.quirks or {}
        self.state = None
        self.tokens = None
        self.error = None
        self.note = ""
        self.polls = 0

    # -- device authorization request ------------------------------------------------------
    def start(self):
        """One request. Raises DevicePairError (NetworkError / ResponseError are transient)."""
        q = self.quirks
        cl = self.client
        fields = {"client_id": cl.client_id, "scope": cl.scope}
        fields.update(cl.extra_params or {})
        resp = self.transport.post_form(cl.device_authorization_endpoint, fields,
                                        q.get("headers"))
        arrived = self.clock.ticks_ms()
        try:
            d = _apply_aliases(resp.data(), q)
        except ResponseError as e:
            if e.transient and not e.status:  # no memory for it now: the app retries
                raise
            raise ResponseError("device code request: bad response (HTTP %d)"
                                % resp.status_code, resp.status_code, resp.retry_after)
        err = oauth_error(d, q)
        if err and _transient_status(resp.status_code):  # busy (5xx, 429): retried
            raise ResponseError("server busy (%s)" % err, resp.status_code, resp.retry_after)
        if err:
            raise ProviderError(err, description(d), resp.status_code)
        if resp.status_code != 200:
            raise ResponseError("device code request failed (HTTP %d)" % resp.status_code,
                                resp.status_code, resp.retry_after)
        self.device_code = _text(d, "device_code")
        self.user_code = code = _text(d, "user_code") or ""
        if len(code) > 64 or [ch for ch in code if not 0x20 <= ord(ch) < 0x7F]:
            raise ResponseError("server sent a bad user_code")
        uri = _text(d, "verification_uri")
        if not _safe_uri(uri, None):
            raise ResponseError("server sent a bad verification_uri")
        self.verification_uri = uri
        complete = _safe_uri(d.get("verification_uri_complete"), uri)
        if complete is None:
            tmpl = q.get("complete_uri")
            if tmpl:
                complete = _safe_uri(tmpl.replace("{verification_uri}", uri).replace(
                    "{user_code}", self.user_code), uri)
        self.verification_uri_complete = complete
        msg = d.get("message")
        self.message = msg if isinstance(msg, str) and len(msg) < 512 else None
        expires = _number(d, "expires_in", 600, 10, _MAX_EXPIRES)
        self.interval_ms = _number(d, "interval", DEFAULT_INTERVAL, 1, _MAX_INTERVAL) * 1000
        self.interval_ms += q.get("poll_pad_ms", 0)
        self.expires_in = expires
        self._begin(arrived, expires * 1000)
        del d, resp

    def _begin(self, now, left_ms):
        self._deadline = self.clock.ticks_add(now, left_ms)
        self._next = self.clock.ticks_add(now, self.interval_ms)
        self._failures = 0
        self.state = POLLING
        self.note = "waiting for approval"

    def resume_code(self, device_code, user_code, verification_uri, complete, interval_s,
                    left_s):
        """Go on polling a code shown before a reset (inflight.py checked every value)."""
        self.device_code, self.user_code = device_code, user_code
        self.verification_uri, self.verification_uri_complete = verification_uri, complete
        self.message = None
        self.interval_ms = interval_s * 1000
        self.expires_in = left_s
        self._begin(self.clock.ticks_ms(), left_s * 1000)

    # -- polling -----------------------------------------------------------------------------
    def seconds_left(self):
        if self.state != POLLING:
            return 0
        left = self.clock.ticks_diff(self._deadline, self.clock.ticks_ms())
        return max(0, (left + 999) // 1000)

    def check_deadline(self):
        """Expire the code if its deadline has passed, without a request (the app calls it
        while Wi-Fi is down). True when the flow has finished."""
        if self.state == POLLING and self.clock.ticks_diff(self._deadline,
                                                           self.clock.ticks_ms()) <= 0:
            self._finish(EXPIRED, ProviderError("expired_token", "the code expired"))
        return self.state != POLLING

    def take_tokens(self):
        """The tokens of a DONE flow, handed over once: the flow keeps no copy."""
        t = self.tokens
        self.tokens = None
        return t

    def cancel(self):
        if self.state == POLLING:
            self.state = CANCELLED
            self.device_code = None

    def _finish(self, state, error=None, tokens=None):
        self.state = state
        self.error = error
        self.tokens = tokens
        self.device_code = None

    def step(self):
        """Poll if due. Returns ms until the next call is useful; 0 once finished."""
        if self.state != POLLING:
            return 0
        c = self.clock
        now = c.ticks_ms()
        left = c.ticks_diff(self._deadline, now)
        if left <= 0:
            self._finish(EXPIRED, ProviderError("expired_token", "the code expired"))
            return 0
        wait = c.ticks_diff(self._next, now)
        if wait > 0:
            return min(wait, left)
        self._poll()
        if self.state != POLLING:
            return 0
        now = c.ticks_ms()
        return max(0, min(c.ticks_diff(self._next, now), c.ticks_diff(self._deadline, now)))

    def _backoff(self, e):
        self._failures += 1
        delay = min(self.interval_ms << min(self._failures, 6), MAX_BACKOFF_MS)
        ra = getattr(e, "retry_after", None)
        if ra is not None and ra >= 0:  # the server said when: no doubling on top of it
            self._failures = 0
            delay = max(self.interval_ms, min(ra * 1000, MAX_BACKOFF_MS * 5))
        self._schedule(delay)
        self.note = "%s, retry in %d s" % (e.message, (delay + 999) // 1000)

    def _schedule(self, delay):
        """Next poll in ``delay`` ms - but when a long backoff would pass the deadline while
        an interval still fits before it, one last poll comes just before the deadline, so a
        user who approved during the backoff is not lost to the clock."""
        c = self.clock
        now = c.ticks_ms()
        nxt = c.ticks_add(now, delay)
        last = c.ticks_add(self._deadline, -_LAST_POLL_MS)
        if c.ticks_diff(nxt, last) > 0 and \
                c.ticks_diff(c.ticks_add(now, self.interval_ms), last) <= 0:
            nxt = last
        self._next = nxt

    def _poll(self):
        q = self.quirks
        cl = self.client
        fields = {"grant_type": GRANT, "device_code": self.device_code,
                  "client_id": cl.client_id, "client_secret": cl.client_secret}
        self.polls += 1
        try:
            status, d, retry_after = _token_call(self.transport, cl.token_endpoint, fields, q)
        except DevicePairError as e:
            if e.transient:
                self._backoff(e)
            else:
                self._finish(FAILED, e)
            return
        c = self.clock
        self._next = c.ticks_add(c.ticks_ms(), self.interval_ms)
        err = oauth_error(d, q)
        if err == "authorization_pending":
            self._failures = 0
            self.note = "waiting for approval"
        elif err == "slow_down":
            self._failures = 0
            self.interval_ms += SLOW_DOWN_MS
            if "interval" in d:  # GitHub sends the new interval: it wins
                try:
                    self.interval_ms = _number(d, "interval", 0, 1, _MAX_INTERVAL) * 1000
                except ResponseError:
                    pass
                self.interval_ms += q.get("slow_down_pad_ms", 0)
            self._next = c.ticks_add(c.ticks_ms(), self.interval_ms)
            self.note = "slow down: every %d s" % (self.interval_ms // 1000)
        elif err == "access_denied":
            self._finish(DENIED, ProviderError(err, description(d), status))
        elif err in ("expired_token", "invalid_grant"):
            # invalid_grant while polling: the server no longer knows the code (Auth0 after
            # expired_token, device-flow proxies): the user starts again.
            self._finish(EXPIRED, ProviderError("expired_token", description(d),
                                                status))
        elif err:
            if _transient_status(status):
                self._backoff(ResponseError("server busy (%s)" % err, status, retry_after))
            else:
                self._finish(FAILED, ProviderError(err, description(d), status))
        elif status == 200:
            try:
                self._finish(DONE, None, parse_tokens(d))
            except ResponseError as e:
                self._finish(FAILED, e)
        elif _transient_status(status):
            self._backoff(ResponseError("server error %d" % status, status, retry_after))
        else:
            self._finish(FAILED, ResponseError("unexpected token response (HTTP %d)" % status,
                                               status))
