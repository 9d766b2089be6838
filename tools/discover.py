#!/usr/bin/env python3
"""Resolve an OpenID Connect issuer to the endpoints the board needs, on the host.

``python tools/discover.py https://idp.example/realms/devices`` fetches
``/.well-known/openid-configuration`` and prints the three endpoints as JSON;
``--write config.json`` puts them into a config file (other keys untouched). Why on the host:
the discovery document is several KB the board would otherwise download and scan at every
boot; written into config.json it costs nothing. The provisioning tool imports
``discover(issuer) -> dict``.

Checks what the board would check: https (http only for 127.0.0.1/localhost/::1 with
``--allow-insecure-http``), the document's ``issuer`` equals the one asked for, and the
issuer advertises a ``device_authorization_endpoint``. Standard library only. Exit status:
0 done, 2 refused.
"""

import argparse
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

ENDPOINTS = ("device_authorization_endpoint", "token_endpoint", "userinfo_endpoint")
MAX_DOC = 65536
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


class DiscoveryError(ValueError):
    """The issuer cannot be used: the message says why, in one line."""


def _check(name, url, allow_insecure_http):
    if not isinstance(url, str):
        raise DiscoveryError("%s is not a URL" % name)
    u = urllib.parse.urlsplit(url)
    if u.scheme == "https" and u.hostname:
        return url
    if u.scheme == "http" and allow_insecure_http and u.hostname in _LOOPBACK:
        return url
    raise DiscoveryError("%s must be https:// (got %s)" % (name, url[:80]))


def discover(issuer, timeout=10, allow_insecure_http=False, context=None):
    """{"device_authorization_endpoint", "token_endpoint"[, "userinfo_endpoint"]} of
    ``issuer``; DiscoveryError with a readable reason otherwise."""
    issuer = issuer.rstrip("/")
    _check("issuer", issuer, allow_insecure_http)
    url = issuer + "/.well-known/openid-configuration"
    req = urllib.request.Request(url, headers={"Accept": "application/json",
                                               "User-Agent": "devicepair-discover"})
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=context) as r:
            body = r.read(MAX_DOC + 1)
    except urllib.error.HTTPError as e:
        raise DiscoveryError("%s: HTTP %d" % (url, e.code))
    except (urllib.error.URLError, OSError) as e:
        raise DiscoveryError("%s: %s" % (url, getattr(e, "reason", e)))
    if len(body) > MAX_DOC:
        raise DiscoveryError("%s: document over %d bytes" % (url, MAX_DOC))
    try:
        doc = json.loads(body)
    except ValueError:
        raise DiscoveryError("%s: not JSON" % url)
    if not isinstance(doc, dict):
        raise DiscoveryError("%s: not a JSON object" % url)
    if str(doc.get("issuer", "")).rstrip("/") != issuer:
        raise DiscoveryError("issuer mismatch: asked for %s, document says %s"
                             % (issuer, doc.get("issuer")))
    if not doc.get("device_authorization_endpoint"):
        raise DiscoveryError("%s does not offer the device flow "
                             "(no device_authorization_endpoint)" % issuer)
    out = {}
    for k in ENDPOINTS:
        if doc.get(k) is not None:
            out[k] = _check(k, doc[k], allow_insecure_http)
    if "token_endpoint" not in out:
        raise DiscoveryError("%s has no token_endpoint" % issuer)
    return out


def write_config(path, endpoints):
    """Merge ``endpoints`` into the JSON file at ``path`` (written atomically)."""
    with open(path) as f:
        cfg = json.load(f)
    cfg.update(endpoints)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("issuer")
    ap.add_argument("--write", metavar="CONFIG", help="merge the endpoints into this file")
    ap.add_argument("--allow-insecure-http", action="store_true",
                    help="allow http:// for a loopback test server")
    ap.add_argument("--timeout", type=float, default=10)
    a = ap.parse_args(argv)
    try:
        eps = discover(a.issuer, a.timeout, a.allow_insecure_http)
        if a.write:
            write_config(a.write, eps)
    except (DiscoveryError, OSError, ValueError) as e:
        print("discover: %s" % e, file=sys.stderr)
        return 2
    print(json.dumps(eps, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
