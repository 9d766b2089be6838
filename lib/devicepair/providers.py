"""Provider presets: ``"provider": "entra", "tenant": "..."`` -> endpoints, quirks, who-am-I.

Why a table (presets.py) and not a class per provider: every .mpy byte is heap on the board,
and a preset is only data - a host, three paths, a default scope, a quirks dict for
``device_flow`` and a who-am-I URL; the table is read once and its module dropped again.
``resolve(cfg)`` turns config.json's provider parameters into one small ``Provider`` object
(the app reads its attributes) or raises ``ConfigError(field, problem)``
naming the missing or unknown setting. Every preset's host can be replaced with ``base_url``
(Entra sovereign clouds, GitHub Enterprise Server, Keycloak anywhere, local fakes) and its
user-API host with ``api_base_url``. ``generic`` takes explicit endpoints, or an ``issuer``
whose discovery document is read on the board by the bounded stream reader in discovery.py.
"""

import json

from .errors import ConfigError
from .urls import check_url

# config.DEFAULT_SCOPE (not imported: config.mpy is 4 KB): when the user left the scope at the
# default, the preset's own default applies (Google refuses offline_access, GitHub ignores it).
CONFIG_DEFAULT_SCOPE = "openid profile offline_access"


class Provider:
    """What pairing needs: ``device_authorization_endpoint``, ``token_endpoint``,
    ``refresh_endpoint`` (None: the device pairs again instead), ``whoami_url`` (None: no
    user API), ``whoami_headers``, ``quirks``, ``scope``, ``extra_params``, ``needs``."""


def _pkg(mod):
    return __name__[:__name__.rfind(".") + 1] + mod


def _drop(mod, keep):
    """Forget devicepair.<mod> after its one job at boot, so its heap returns - unless it was
    loaded before (a caller that resolves often keeps it)."""
    if not keep:
        import sys

        sys.modules.pop(_pkg(mod), None)
        pkg = sys.modules.get(_pkg("")[:-1])
        if hasattr(pkg, mod):
            delattr(pkg, mod)


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
    """``Provider`` for ``cfg`` (a config.Config or anything with its attributes), or
    ConfigError. ``generic`` with an ``issuer`` and no endpoints: with a ``transport`` the
    discovery document is read now, without one ``p.issuer`` is left set for discover()."""
    c = lambda k: getattr(cfg, k, None)  # noqa: E731
    name = str(c("provider") or "generic")
    needs, host, api, dev, tok, who, scope, quirks, headers = _preset(name)
    params = dict(c("provider_params") or {})
    params["client_secret"] = c("client_secret")
    g = params.get
    ub = g("base_url")
    p = Provider()
    p.name = name
    p.needs = needs.split(",") if needs else []
    subs = {}
    for k in p.needs + ["domain", "tenant", "realm", "auth_server"]:
        v = g(k)
        if not (v or k == "domain" and ub) and k in p.needs:
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
    insecure = c("allow_insecure_http")
    if ub:
        check_url("base_url" if g("base_url") or not p.needs else p.needs[0], ub + "/",
                  insecure)
        check_url("api_base_url", ab + "/", insecure)
    subs["{b}"] = ub + (host[k:] if k >= 0 else "")
    subs["{a}"] = ab
    # Explicit endpoints in config.json win over the preset's (generic: they are the preset);
    # a proxy's token_endpoint in config is the upstream's (refresh there); without one the
    # proxy forwards refresh_token itself (tools/deviceproxy): refresh at its /device/token.
    t = c("token_endpoint")
    u = c("userinfo_endpoint")
    p.device_authorization_endpoint = c("device_authorization_endpoint") or _url(dev, subs)
    p.token_endpoint = (name != "proxy" and t) or _url(tok, subs)
    p.refresh_endpoint = t or p.token_endpoint
    p.whoami_url = u or _url(who, subs) or c("api_url")
    p.whoami_headers = headers
    p.quirks = quirks or {}
    s = c("scope")
    if scope and (s is None or s == CONFIG_DEFAULT_SCOPE):
        s = scope.replace("+", " ")
    p.scope = s
    if name == "entra" and p.scope and not u:
        s = _entra_scope(p.scope)
        if s is None:
            p.whoami_url = None
        else:
            p.scope = s
    p.extra_params = dict(c("extra_params") or {})
    if g("audience"):
        p.extra_params["audience"] = g("audience")
    p.issuer = None
    if not (p.device_authorization_endpoint and p.token_endpoint):
        if not g("issuer"):
            raise ConfigError("device_authorization_endpoint",
                              'is missing (provider "generic" needs endpoints or an issuer)')
        check_url("issuer", g("issuer").rstrip("/") + "/", insecure)
        # Discovery needs the network: the app calls discover() once Wi-Fi and the clock are
        # up (or tools/discover.py writes the endpoints into config.json and it never runs).
        p.issuer = g("issuer")
        if transport is not None:
            discover(p, transport, insecure)
    return p


def discover(p, transport, insecure=False):
    """Fill ``p``'s missing endpoints from its ``issuer``'s discovery document (one bounded,
    streaming GET; discovery.py is loaded for it and dropped again). Raises NetworkError,
    TLSError or ResponseError ("discovery: ..."); ``p.issuer`` is cleared once done."""
    import sys

    keep = _pkg("discovery") in sys.modules
    from .discovery import configure

    try:
        configure(p, p.issuer, transport, insecure)
    finally:
        _drop("discovery", keep)
    p.issuer = None


def display_name(d):
    """The name to show from a who-am-I response: the first non-empty string of name,
    displayName, preferred_username, login, email, userPrincipalName, sub (at most 64 chars)."""
    if not isinstance(d, dict):
        return None
    for k in ("name", "displayName", "preferred_username", "login", "email",
              "userPrincipalName", "sub"):
        v = d.get(k)
        if isinstance(v, str) and v.strip():
            return v.strip()[:64]
    return None
