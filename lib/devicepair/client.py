"""One complete description of the OAuth client the board is: what to ask, and whom.

Why its own object: the device flow, the token session and the app each need a few of the
same settings (endpoints, client id and secret, scope, extra parameters such as Auth0's
``audience``, the provider's quirks, its who-am-I API). When each read them from a different
place - config here, the resolved preset there - a setting resolved into one and read from the
other was silently lost. ``providers.resolve(cfg)`` builds the one ``Client``; nobody reads
client settings from the config after that, and nothing changes a ``Client`` once built:
discovery makes a new one with ``with_endpoints``. ``repr`` never shows the secret.
"""

FIELDS = ("name", "client_id", "client_secret", "scope", "extra_params",
          "device_authorization_endpoint", "token_endpoint", "refresh_endpoint", "whoami_url",
          "whoami_headers", "quirks", "issuer", "allow_insecure_http")


class Client:
    """``client_id``, ``client_secret`` (or None), ``scope``, ``extra_params`` (dict, sent
    with the device authorization request), ``device_authorization_endpoint``,
    ``token_endpoint``, ``refresh_endpoint`` (None: no refresh, the device pairs again),
    ``whoami_url`` (None: no user API) and ``whoami_headers``, ``quirks`` (dict, read by
    device_flow), ``issuer`` (set while endpoints still await discovery), ``name`` (the
    preset), ``allow_insecure_http``. Treat it as immutable."""

    def __init__(self, **kw):
        g = kw.pop
        self.name = g("name", None)
        self.client_id = g("client_id", None)
        self.client_secret = g("client_secret", None)
        self.scope = g("scope", None)
        self.extra_params = g("extra_params", None) or {}
        self.device_authorization_endpoint = g("device_authorization_endpoint", None)
        self.token_endpoint = g("token_endpoint", None)
        self.refresh_endpoint = g("refresh_endpoint", None)
        self.whoami_url = g("whoami_url", None)
        self.whoami_headers = g("whoami_headers", None)
        self.quirks = g("quirks", None) or {}
        self.issuer = g("issuer", None)
        self.allow_insecure_http = g("allow_insecure_http", None)
        if kw:
            raise TypeError("unknown client field " + sorted(kw)[0])

    def with_endpoints(self, **endpoints):
        """A new Client with these endpoint fields replaced (``issuer`` cleared)."""
        d = {}
        for k in FIELDS:
            d[k] = getattr(self, k)
        d["issuer"] = None
        for k in endpoints:
            if k not in ("device_authorization_endpoint", "token_endpoint",
                         "refresh_endpoint", "whoami_url"):
                raise TypeError("not an endpoint: " + k)
            d[k] = endpoints[k]
        return Client(**d)

    def __repr__(self):
        return "<Client %s client_id=%s>" % (self.name, self.client_id)
