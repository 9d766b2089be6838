"""The token session: the tokens pairing produced, kept fresh, and the calls made with them.

This is what the user's own code talks to. ``session.get(url)`` / ``post(url, json=...)``
add the bearer token, refresh it first when it is about to expire, and on a 401 refresh once
and retry once; when the refresh token is gone (``invalid_grant``, or no refresh endpoint)
the session unpairs and raises ``PairingRequired``, and the app shows "press to pair". It
knows no screen, button or Wi-Fi. Every rotation is written to flash atomically (tokens.py);
when flash refuses (full, worn), the new tokens stay in RAM, are used from there, and the
write is retried (``save_pending`` / ``retry_save``) - a refresh token the server has already
rotated away is never presented again. Nothing here prints or logs a token.
"""

from . import device_flow as df
from .errors import DevicePairError, PairingRequired, StorageError

REFRESH_MARGIN_S = 120


class Session:
    """``Session(store, transport, client, clock, log=None)``; ``load()`` once at boot."""

    def __init__(self, store, transport, client, clock, log=None):
        self.store = store
        self.transport = transport
        self.client = client
        self.clock = clock
        self.log = log or (lambda msg: None)
        self.tokens = None
        self.name = None
        self.save_pending = False  # the tokens in RAM are newer than the ones on flash

    def __repr__(self):
        return "<Session %s>" % ("paired" if self.tokens else "unpaired")

    @property
    def paired(self):
        return self.tokens is not None

    def load(self):
        """Read the stored tokens; True when paired. An unreadable file is logged, not
        raised (the store never deletes it for a memory error)."""
        t = self.store.load()
        if t is not None and not df._b64token(t["access_token"]):  # a tampered file: CR/LF
            t = None  # in it would inject headers into every call (the store keeps the file)
            self.log("token store: stored access token refused, pair again")
        self.tokens = t
        if self.tokens is None and getattr(self.store, "last_error", None):
            self.log("token store: " + self.store.last_error)
        self.name = self.tokens.get("name") if self.tokens else None
        self.save_pending = False
        return self.tokens is not None

    def valid(self, margin_s=REFRESH_MARGIN_S):
        """True when the access token is known to stay valid for ``margin_s`` seconds
        (tokens without an expiry, as GitHub OAuth apps issue, stay valid until a 401)."""
        return self.store.access_valid(self.tokens, margin_s)

    # -- changing the tokens -----------------------------------------------------------------
    def _keep(self, tokens):
        """Make ``tokens`` the session's, in RAM first, then on flash. StorageError when
        flash refused: the session goes on with the RAM copy and ``retry_save`` tries again."""
        self.tokens = self.store.record(tokens)
        self.name = self.tokens.get("name")
        self.save_pending = True
        self.retry_save()

    def retry_save(self):
        """Write the RAM tokens that flash refused before; StorageError if it refuses again."""
        if not self.save_pending or self.tokens is None:
            return
        try:
            self.store.write(self.tokens)
        except OSError as e:
            code = e.args[0] if e.args else "?"
            raise StorageError("flash full" if code == 28 else "flash write failed (%s)" % code)
        self.save_pending = False

    def adopt(self, tokens):
        """Take the tokens a finished pairing produced (DeviceFlow.take_tokens())."""
        self.name = None
        self._keep(tokens)

    def refresh(self):
        """Get a new access token with the refresh token. PairingRequired (after unpairing)
        when the refresh token is gone; NetworkError / ResponseError (transient) keep the
        tokens; StorageError when the new tokens could only be kept in RAM."""
        t = self.tokens
        rt = t.get("refresh_token") if t else None
        if not rt or not self.client.refresh_endpoint:
            self.unpair()
            raise PairingRequired("invalid_grant", "sign-in expired")
        try:
            new = df.refresh(self.transport, self.client, rt)
        except PairingRequired:
            self.unpair()
            raise
        if self.name:
            new["name"] = self.name
        from .tokens import merge_refresh

        try:
            self._keep(merge_refresh(t, new))
        finally:  # said once the new tokens are the session's (on flash, or in RAM)
            self.log("token refreshed")

    def unpair(self):
        """Forget the tokens, on flash and in RAM (missing files are fine)."""
        self.tokens = None
        self.name = None
        self.save_pending = False
        try:
            self.store.clear()
        except OSError as e:
            self.log("token store: could not remove the file (%s)" % (e.args[0] if e.args
                                                                     else "?"))

    # -- calls with the token ----------------------------------------------------------------
    def request(self, method, url, json=None, fields=None, headers=None):
        """An API call with the bearer token -> http.Response (any status but a 401 that
        survived one refresh). Raises PairingRequired when the board must pair again; a
        refresh whose tokens flash refused goes on with them from RAM (``save_pending``)."""
        r = self.transport.request(method, url, fields=fields, json=json, headers=headers,
                                   bearer=self._access(not self.valid()))
        if r.status_code != 401:
            return r
        self.log("API: HTTP 401, refreshing the token once")
        self.store.invalidate(self.tokens)
        return self.transport.request(method, url, fields=fields, json=json, headers=headers,
                                      bearer=self._access(True))

    def _access(self, refresh):
        """The access token to send, refreshed first when ``refresh``."""
        if self.tokens is None:
            raise PairingRequired("invalid_grant", "not paired")
        if refresh:
            try:
                self.refresh()
            except StorageError as e:
                self.log("token store: %s - new tokens kept in RAM" % e.message)
        t = self.tokens
        if t is None:  # refresh unpaired
            raise PairingRequired("invalid_grant", "not paired")
        return t["access_token"]

    def get(self, url, headers=None):
        return self.request("GET", url, headers=headers)

    def post(self, url, json=None, fields=None, headers=None):
        return self.request("POST", url, json=json, fields=fields, headers=headers)

    def whoami(self):
        """Ask the provider's user API who this is; the name (also stored), or None. A 401
        marks the access token expired, so it is refreshed (or pairing asked for) next."""
        url = self.client.whoami_url
        if not url or self.tokens is None:
            return None
        try:
            r = self.transport.get(url, bearer=self.tokens["access_token"],
                                   headers=self.client.whoami_headers)
            if r.status_code == 401:
                self.log("who-am-I: HTTP 401, token no longer accepted")
                self.store.invalidate(self.tokens)
                return None
            if r.status_code != 200:
                self.log("who-am-I: HTTP %d" % r.status_code)
                return None
            name = display_name(r.data())
        except DevicePairError as e:
            self.log("who-am-I: " + e.message)
            return None
        if name:
            self.name = name
            t = dict(self.tokens)
            t["name"] = name
            try:
                self._keep(t)
            except StorageError as e:
                self.log("token store: " + e.message)
        return name


def display_name(d):
    """The name to show from a who-am-I response: the first non-empty string of name,
    displayName, preferred_username, login, email, userPrincipalName, sub (at most 64 chars,
    control characters replaced: the name is stored, shown and logged)."""
    if not isinstance(d, dict):
        return None
    for k in ("name", "displayName", "preferred_username", "login", "email",
              "userPrincipalName", "sub"):
        v = d.get(k)
        if isinstance(v, str) and v.strip():
            return "".join([c if " " <= c and not "\x7f" <= c < "\xa0" else "?"
                            for c in v.strip()[:64]])
    return None
