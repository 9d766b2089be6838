"""Provider presets: ``"provider": "entra", "tenant": "..."`` -> endpoints, quirks, who-am-I.

Why a table (presets.py) and not a class per provider: every .mpy byte is heap on the board,
and a preset is only data - a host, three paths, a default scope, a quirks dict for
``device_flow`` and a who-am-I URL; the table is read once and its module dropped again.
``resolve(cfg)`` turns config.json's client and provider settings into one complete
``client.Client`` (nothing reads client settings from the config after it) or raises
``ConfigError(field, problem)``
naming the missing or unknown setting. Every preset's host can be replaced with ``base_url``
(Entra sovereign clouds, GitHub Enterprise Server, Keycloak anywhere, local fakes) and its
user-API host with ``api_base_url``. ``generic`` takes explicit endpoints, or an ``issuer``
whose discovery document is read on the board by the bounded stream reader in discovery.py.
"""

import json

from .client import Client
from .errors import ConfigError
from .urls import check_url

# config.DEFAULT_SCOPE (not imported: config.mpy is 4 KB): when the user left the scope at the
# default, the preset's own default applies (Google refuses offline_access, GitHub ignores it).
CONFIG_DEFAULT_SCOPE = "openid profile offline_access"


def _pkg(mod):
    return __name__[:__name__.rfind(".") + 1] + mod


def _drop(mod, keep):
    """Forget devicepair.<mod> after its one job at boot, so its heap returns - unless it was
    loaded before (a caller that resolves often keeps it)."""
    if not keep:
        from . import forget

        forget(mod)


def _preset(name):
    import sys

    keep = _pkg("presets") in sys.modules
    from . import presets

    rec = getattr(presets, name) if name in presets.NAMES.split() else None
    known = presets.NAMES.replace(" ", ", ")
    _drop("presets", keep)
    if rec is None:
        raise ConfigError("provider", '"%s" is unknown (known: %s)' % (name[:24], known))
    f = rec.split(None, 7)
    x = json.loads(f.pop()) if len(f) > 7 else []
    return [None if v == "-" else v for v in f] + x + [None] * (2 - len(x))


def _fill(t, subs):
    for k in subs:
        t = t.replace(k, subs[k])
    return t


def _url(t, subs):
    return t and _fill(t if t.startswith("{a}") else "{b}" + t, subs)


def _entra_scope(scope):
    """Graph /me needs User.Read in the same token; another resource's scopes cannot share a
    token with Graph's, so then there is no who-am-I (None)."""
    low = scope.lower().split()
    for s in low:
        if s == "user.read" or s.endswith("graph.microsoft.com/user.read"):
            return scope
    for s in low:
        if "/" in s or ".default" in s:
            return None
    return scope + " User.Read"


def resolve(cfg, transport=None):
    """The ``Client`` for ``cfg`` (a config.Config or anything with its attributes), or
    ConfigError. ``generic`` with an ``issuer`` and no endpoints: with a ``transport`` the
    discovery document is read now; without one the client keeps ``issuer`` set and
    ``discover(client, transport)`` makes the complete client later."""
    c = lambda k: getattr(cfg, k, None)  # noqa: E731
    name = str(c("provider") or "generic")
    needs, host, api, dev, tok, who, scope, quirks, headers = _preset(name)
    params = dict(c("provider_params") or {})
    params["client_secret"] = c("client_secret")
    g = params.get
    ub = g("base_url")
    needs = needs.split(",") if needs else []
    subs = {}
    for k in needs + ["domain", "tenant", "realm", "auth_server"]:
        v = g(k)
        if not (v or k == "domain" and ub) and k in needs:
            raise ConfigError(k, 'is missing (needed by provider "%s")' % name)
        if v and k in ("domain", "tenant", "realm", "auth_server"):
            v = v.replace("https://", "").rstrip("/") if k == "domain" else v
            for ch in "/?#@%{} \\":
                if ch in v:
                    raise ConfigError(k, "must not contain " + repr(ch))
            subs["{%s}" % k] = v
    srv = subs.pop("{auth_server}", "default")
    subs["{as}"] = "/oauth2/v1" if srv == "org" else "/oauth2/%s/v1" % srv
    host = _fill(host or "", subs)
    k = host.find("/") if host[:1] != "/" else 0
    ub = (ub or "").rstrip("/") or host and "https://" + (host[:k] if k >= 0 else host)
    api = (api or "").split(",") + [""]
    ab = (g("api_base_url") or (ub + api[1] if g("base_url") or not api[0]
                                else "https://" + api[0])).rstrip("/")
    insecure = bool(c("allow_insecure_http"))
    if ub:
        check_url("base_url" if g("base_url") or not needs else needs[0], ub + "/", insecure)
        check_url("api_base_url", ab + "/", insecure)
    subs["{b}"] = ub + (host[k:] if k >= 0 else "")
    subs["{a}"] = ab
    # Explicit endpoints in config.json win over the preset's (generic: they are the preset);
    # a proxy's token_endpoint in config is the upstream's (refresh there); without one the
    # proxy forwards refresh_token itself (tools/deviceproxy): refresh at its /device/token.
    t = c("token_endpoint")
    u = c("userinfo_endpoint")
    dae = c("device_authorization_endpoint") or _url(dev, subs)
    te = (name != "proxy" and t) or _url(tok, subs)
    whoami = u or _url(who, subs) or c("api_url")
    s = c("scope")
    if scope and (s is None or s == CONFIG_DEFAULT_SCOPE):
        s = scope.replace("+", " ")
    if name == "entra" and s and not u:
        es = _entra_scope(s)
        if es is None:
            whoami = None
        else:
            s = es
    extra = dict(c("extra_params") or {})
    if g("audience"):
        extra["audience"] = g("audience")
    issuer = None
    if not (dae and te):
        if not g("issuer"):
            raise ConfigError("device_authorization_endpoint",
                              'is missing (provider "generic" needs endpoints or an issuer)')
        check_url("issuer", g("issuer").rstrip("/") + "/", insecure)
        # Discovery needs the network: the app calls discover() once Wi-Fi and the clock are
        # up (or tools/discover.py writes the endpoints into config.json and it never runs).
        issuer = g("issuer")
    client = Client(name=name, client_id=c("client_id"), client_secret=c("client_secret"),
                    scope=s, extra_params=extra, device_authorization_endpoint=dae,
                    token_endpoint=te,
                    refresh_endpoint=t or te,
                    whoami_url=whoami, whoami_headers=headers, quirks=quirks or {},
                    issuer=issuer, allow_insecure_http=insecure)
    if issuer and transport is not None:
        client = discover(client, transport)
    return client


def discover(client, transport):
    """A new ``Client`` with the endpoints ``client.issuer``'s discovery document names for
    what config.json left unset (one bounded, streaming GET; discovery.py is loaded for it
    and dropped again). Raises NetworkError, TLSError or ResponseError ("discovery: ...")."""
    import sys

    keep = _pkg("discovery") in sys.modules
    from .discovery import endpoints

    try:
        found = endpoints(client, client.issuer, transport, client.allow_insecure_http)
    finally:
        _drop("discovery", keep)
    return client.with_endpoints(**found)
