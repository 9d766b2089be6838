"""The RFC 8628 client: device authorization request, token polling, refresh.

A tick-driven state machine: ``start()`` makes the device authorization request, then each
``step()`` makes at most one token request when one is due and returns how many ms it wants
to wait. It never sleeps, so the button stays responsive. Provider accents (field and error
aliases, headers, padding) come in as a small ``quirks`` dict from ``providers``; this module
never names a provider. It never prints or logs a token.
"""

import gc

from .errors import DevicePairError, ProviderError, ResponseError, PairingRequired

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


def _number(d, key, default, lo, hi):
    """An int field that may arrive as a string; absurd values are a ResponseError."""
    v = d.get(key)
    if v is None:
        return default
    if isinstance(v, bool):
        v = None
    elif isinstance(v, str):
        try:
            v = int(v.strip())
        except ValueError:
            v = None
    elif isinstance(v, float):
        v = int(v)
    if not isinstance(v, int) or not lo <= v <= hi:
        raise ResponseError("server sent a bad %s (%r)" % (key, d.get(key)))
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


def _is_url(v):
    return isinstance(v, str) and (v.startswith("https://") or v.startswith("http://")) \
        and len(v) > 8 and " " not in v


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
    return quirks.get("errors", {}).get(err, err)


def _transient_status(status):
    return status >= 500 or status == 429


def parse_tokens(d, quirks=None):
    """Validate a token response dict and keep only what the device needs."""
    out = {"access_token": _text(d, "access_token")}
    for k in ("refresh_token", "id_token", "scope"):
        v = _text(d, k, False)
        if v is not None:
            out[k] = v
    out["token_type"] = _text(d, "token_type", False) or "Bearer"
    out["expires_in"] = _number(d, "expires_in", None, 0, 10 * 365 * 86400)
    return out


def _token_call(transport, url, fields, quirks):
    """POST to the token endpoint -> (status, parsed dict or None, retry_after)."""
    # The answer may be the tokens, issued once: free the garbage before reading it, so a
    # fragmented heap does not lose them (a few ms per poll on a board).
    gc.collect()
    resp = transport.post_form(url, fields, quirks.get("headers"))
    try:
        d = _apply_aliases(resp.data(), quirks)
    except ResponseError as e:
        if e.transient and not e.status:  # no memory for it now: polling retries it
            raise
        if _transient_status(resp.status_code):
            raise ResponseError("server error %d" % resp.status_code, resp.status_code,
                                resp.retry_after)
        raise ResponseError("malformed token response (HTTP %d)" % resp.status_code,
                            resp.status_code)
    return resp.status_code, d, resp.retry_after


def refresh(transport, token_endpoint, client_id, refresh_token, client_secret=None,
            scope=None, quirks=None):
    """Use a refresh token. Returns the new token dict, keeping the old refresh token when the
    server sends none. Raises PairingRequired on ``invalid_grant``; network and 5xx errors
    are raised as they are (transient) so the caller keeps the old tokens and retries."""
    quirks = quirks or {}
    fields = {"grant_type": "refresh_token", "refresh_token": refresh_token,
              "client_id": client_id, "client_secret": client_secret, "scope": scope}
    status, d, retry_after = _token_call(transport, token_endpoint, fields, quirks)
    err = oauth_error(d, quirks)
    if err:
        if err in ("invalid_grant", "expired_token"):
            raise PairingRequired(err, d.get("error_description"), status)
        if _transient_status(status):
            raise ResponseError("server error %d" % status, status, retry_after)
        raise ProviderError(err, d.get("error_description"), status)
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

    def __init__(self, transport, clock, client_id, device_authorization_endpoint,
                 token_endpoint, scope=None, extra_params=None, client_secret=None,
                 quirks=None):
        self.transport = transport
        self.clock = clock
        self.client_id = client_id
        self.device_endpoint = device_authorization_endpoint
        self.token_endpoint = token_endpoint
        self.scope = scope
        self.extra_params = extra_params or {}
        self.client_secret = client_secret
        self.quirks = quirks or {}
        self.state = None
        self.tokens = None
        self.error = None
        self.note = ""
        self.polls = 0

    # -- device authorization request ------------------------------------------------------
    def start(self):
        """One request. Raises DevicePairError (NetworkError / ResponseError are transient)."""
        q = self.quirks
        fields = {"client_id": self.client_id, "scope": self.scope}
        fields.update(self.extra_params)
        resp = self.transport.post_form(self.device_endpoint, fields, q.get("headers"))
        arrived = self.clock.ticks_ms()
        try:
            d = _apply_aliases(resp.data(), q)
        except ResponseError:
            raise ResponseError("device code request: bad response (HTTP %d)"
                                % resp.status_code, resp.status_code, resp.retry_after)
        err = oauth_error(d, q)
        if err:
            raise ProviderError(err, d.get("error_description"), resp.status_code)
        if resp.status_code != 200:
            raise ResponseError("device code request failed (HTTP %d)" % resp.status_code,
                                resp.status_code, resp.retry_after)
        self.device_code = _text(d, "device_code")
        self.user_code = _text(d, "user_code")
        if len(self.user_code) > 64:
            raise ResponseError("server sent a bad user_code")
        uri = _text(d, "verification_uri")
        if not _is_url(uri):
            raise ResponseError("server sent a bad verification_uri")
        self.verification_uri = uri
        complete = d.get("verification_uri_complete")
        if not _is_url(complete):
            complete = None
            tmpl = q.get("complete_uri")
            if tmpl:
                complete = tmpl.replace("{verification_uri}", uri).replace(
                    "{user_code}", self.user_code)
        self.verification_uri_complete = complete
        msg = d.get("message")
        self.message = msg if isinstance(msg, str) and len(msg) < 512 else None
        expires = _number(d, "expires_in", 600, 10, _MAX_EXPIRES)
        self.interval_ms = _number(d, "interval", DEFAULT_INTERVAL, 1, _MAX_INTERVAL) * 1000
        self.interval_ms += q.get("poll_pad_ms", 0)
        self.expires_in = expires
        self._deadline = self.clock.ticks_add(arrived, expires * 1000)
        self._next = self.clock.ticks_add(arrived, self.interval_ms)
        self._failures = 0
        self.state = POLLING
        self.note = "waiting for approval"
        del d, resp

    # -- polling -----------------------------------------------------------------------------
    def seconds_left(self):
        if self.state != POLLING:
            return 0
        left = self.clock.ticks_diff(self._deadline, self.clock.ticks_ms())
        return max(0, (left + 999) // 1000)

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
        if ra is not None and ra >= 0:
            delay = max(self.interval_ms, min(ra * 1000, MAX_BACKOFF_MS * 5))
        self._next = self.clock.ticks_add(self.clock.ticks_ms(), delay)
        self.note = "%s, retry in %d s" % (e.message, (delay + 999) // 1000)

    def _poll(self):
        q = self.quirks
        fields = {"grant_type": GRANT, "device_code": self.device_code,
                  "client_id": self.client_id, "client_secret": self.client_secret}
        self.polls += 1
        try:
            status, d, retry_after = _token_call(self.transport, self.token_endpoint, fields, q)
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
            self._finish(DENIED, ProviderError(err, d.get("error_description"), status))
        elif err in ("expired_token", "invalid_grant"):
            # invalid_grant while polling: the server no longer knows the code (Auth0 after
            # expired_token, device-flow proxies): the user starts again.
            self._finish(EXPIRED, ProviderError("expired_token", d.get("error_description"),
                                                status))
        elif err:
            if _transient_status(status):
                self._backoff(ResponseError("server busy (%s)" % err, status, retry_after))
            else:
                self._finish(FAILED, ProviderError(err, d.get("error_description"), status))
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
