"""Drive the provider fakes (provider_fakes.py) from a test on either interpreter.

``url("entra")`` is the fake's base (env DEVICEPAIR_FAKE_ENTRA); ``cfg(...)`` a stand-in for
config.Config pointing a preset at it; ``pair(...)`` runs a whole DeviceFlow on a FakeClock,
keeping the fake's virtual clock in step and approving (or denying) through the fake's
control endpoint after some pending polls. Small on purpose: it shares a 64 KB heap with
the library under MicroPython.
"""

import gc
import os

# Collect between imports: loading .mpy leaves garbage that, left around, splits a 64 KB heap
# into holes too small for a token response.
from devicepair.http import Transport
gc.collect()
from devicepair import device_flow as df  # noqa: E402
gc.collect()
from devicepair import providers as P  # noqa: E402
from devicepair.session import display_name  # noqa: E402
gc.collect()
from fakeclock import FakeClock  # noqa: E402

_T = []


def transport():
    if not _T:
        _T.append(Transport(allow_insecure_http=True, timeout_ms=5000, max_body=16384))
    return _T[0]


def url(name):
    u = os.getenv("DEVICEPAIR_FAKE_" + name.upper())
    assert u, "DEVICEPAIR_FAKE_%s is not set (run through pytest)" % name.upper()
    return u


def ctl(name, action, **fields):
    """POST /_fake/<action> (approve, deny, advance, set, code, log) -> the JSON answer."""
    gc.collect()  # a 64 KB heap fragments fast: keep garbage from pinning holes
    r = transport().post_form(url(name) + "/_fake/" + action, fields)
    assert r.status_code == 200, (action, r.status_code)
    return r.json()


class _Attrs:
    pass


def cfg(provider, client_id, fake=None, **kw):
    """What providers.resolve reads from config.Config; ``base_url`` on the fake ``fake``
    (default: the provider's own; False: none). Keyword arguments named like Config
    attributes set those, the rest are provider parameters."""
    if fake is not False:
        kw.setdefault("base_url", url(fake or provider))
    c = _Attrs()  # any object with attributes will do
    c.provider = provider
    c.client_id = client_id
    c.scope = P.CONFIG_DEFAULT_SCOPE
    c.allow_insecure_http = True
    for k in ("client_secret", "extra_params", "device_authorization_endpoint",
              "token_endpoint", "userinfo_endpoint", "api_url", "scope"):
        if k in kw or not hasattr(c, k):
            setattr(c, k, kw.pop(k, None))
    c.provider_params = kw
    return c


def with_fields(p, **kw):
    from devicepair.client import FIELDS, Client

    d = {}
    for k in FIELDS:
        d[k] = kw[k] if k in kw else getattr(p, k)
    return Client(**d)


def start(p, c, quirks=None):
    if quirks is not None:  # a test that drops a quirk: the same client otherwise
        p = with_fields(p, quirks=quirks)
    f = df.DeviceFlow(transport(), FakeClock(), p)
    f.start()
    return f


def run(f, name, after=1, user="", deny=False, jitter_ms=0):
    """Step ``f`` to its end; approve (or deny) once ``after`` polls were made. The fake's
    clock follows the client's, ``jitter_ms`` behind (requests arriving early). -> waits."""
    waits = []
    for _ in range(60):
        if after is not None and f.polls >= after:
            ctl(name, "deny" if deny else "approve", user_code=f.user_code, user=user)
            after = None
        w = f.step()
        if f.state != df.POLLING:
            return waits
        waits.append(w)
        f.clock.advance(w)
        ctl(name, "advance", ms=max(0, w - jitter_ms))
    raise AssertionError("flow did not finish: " + f.note)


def pair(p, c, name, quirks=None, **kw):
    """Start and run a pairing against fake ``name`` -> the finished DeviceFlow."""
    f = start(p, c, quirks)
    run(f, name, **kw)
    return f


def who(p, access_token, headers=None):
    """What the board does after pairing: GET the user API -> the name to show, or the HTTP
    status when it fails."""
    gc.collect()
    r = transport().get(p.whoami_url, bearer=access_token,
                        headers=p.whoami_headers if headers is None else headers)
    return display_name(r.data()) if r.status_code == 200 else r.status_code


def refresh(p, c, rt):
    gc.collect()
    return df.refresh(transport(), p, rt)
