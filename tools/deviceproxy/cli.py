"""Command line: options -> Config + store + upstream, served by gunicorn (gthread workers).

The first line on stdout is always ``deviceproxy listening on URL`` (flushed) once the socket
is bound, so a test or script can start it with ``--port 0`` and read the URL. Logs are JSON
lines on stderr (logs.py) and never carry a token, code, state or secret. Discovery of the
upstream and the first contact with the store happen before the socket is opened: a wrong
issuer or an unreachable Redis is one readable line and exit code 1, not a worker crash loop.
The client secret is read from a file or the environment, never from the command line (where
``ps`` would show it). SIGTERM or Ctrl-C stops gracefully within a few seconds.
"""

import argparse
import ipaddress
import logging
import os
import sys

from . import logs
from .config import DEFAULT_SCOPES, Config
from .store import StoreError, open_store
from .upstream import Upstream, UpstreamError

SECRET_ENV = "DEVICEPROXY_CLIENT_SECRET"


def _at_least(minimum):
    def parse(text):
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError("not a whole number: %r" % text) from None
        if v < minimum:
            raise argparse.ArgumentTypeError("must be >= %d" % minimum)
        return v
    return parse


def _rate(text):
    try:
        n, _, w = text.partition("/")
        n, w = int(n), int(w or 60)
    except ValueError:
        raise argparse.ArgumentTypeError("expected COUNT/SECONDS, e.g. 30/60") from None
    if n < 1 or w < 1:
        raise argparse.ArgumentTypeError("COUNT and SECONDS must be >= 1")
    return (n, w)


def default_store():
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"),
                                                            ".local", "state")
    return "sqlite://" + os.path.join(base, "devicepair", "deviceproxy.sqlite3")


def build_parser():
    p = argparse.ArgumentParser(
        prog="deviceproxy",
        description="RFC 8628 device-flow proxy: serves the device authorization grant to "
                    "boards and signs their users in at an upstream OAuth 2.0 server through "
                    "its authorization code flow with PKCE S256.",
        epilog="The upstream client secret, if the upstream needs one, comes from "
               "--client-secret-file or the %s environment variable. Example: deviceproxy "
               "--issuer https://login.example.com --client-id fleet --public-url "
               "https://pair.example.com --host 0.0.0.0 --allow-remote --store "
               "redis://10.0.0.5:6379/0" % SECRET_ENV)
    u = p.add_argument_group("upstream (the authorization-code server)")
    u.add_argument("--issuer", help="upstream issuer URL; endpoints come from its "
                   "/.well-known/openid-configuration (else RFC 8414 metadata)")
    u.add_argument("--authorization-endpoint", metavar="URL",
                   help="upstream authorization endpoint (instead of --issuer)")
    u.add_argument("--token-endpoint", metavar="URL",
                   help="upstream token endpoint (instead of --issuer)")
    u.add_argument("--userinfo-endpoint", metavar="URL",
                   help="upstream userinfo endpoint, published in the proxy's discovery "
                        "document (with --issuer: from discovery)")
    u.add_argument("--client-id", required=True,
                   help="the proxy's client id at the upstream (required)")
    u.add_argument("--client-secret-file", metavar="PATH",
                   help="file holding the upstream client secret (default: $%s, else a "
                        "public client)" % SECRET_ENV)
    u.add_argument("--client-auth", choices=("basic", "post", "none"),
                   help="how the secret is sent to the upstream token endpoint: "
                        "client_secret_basic, client_secret_post or none (default: basic "
                        "with a secret, none without)")
    u.add_argument("--allow-insecure-upstream", action="store_true",
                   help="accept http:// upstream URLs on hosts other than loopback "
                        "(development only)")
    d = p.add_argument_group("devices (RFC 8628)")
    d.add_argument("--device-client-id", action="append", dest="device_client_ids",
                   metavar="ID", help="client_id a board may use (repeatable; default: the "
                   "same as --client-id). Any other gets invalid_client")
    d.add_argument("--scopes", default=" ".join(DEFAULT_SCOPES),
                   help="space-separated scopes a board may ask for; an omitted scope means "
                        "all of them (default %(default)r)")
    d.add_argument("--expires-in", type=_at_least(2), default=600,
                   help="lifetime of a device code and its user code in s (default 600; boards "
                        "refuse less than 10)")
    d.add_argument("--interval", type=_at_least(1), default=5,
                   help="minimum polling interval in s; faster polls get slow_down and the "
                        "code's interval grows by 5 s (default 5)")
    d.add_argument("--token-ttl", type=_at_least(1), default=120,
                   help="how long approved tokens wait for the device's next poll, in s; "
                        "they are delivered once and then deleted (default 120)")
    r = p.add_argument_group("rate limits (per client address, COUNT/SECONDS)")
    r.add_argument("--device-code-rate", type=_rate, default=(30, 60), metavar="N/S",
                   help="device code requests (default 30/60); more get HTTP 429")
    r.add_argument("--entry-rate", type=_rate, default=(5, 60), metavar="N/S",
                   help="wrong user codes typed in the browser (default 5/60); then a "
                        "'Too many attempts' page with HTTP 429")
    r.add_argument("--refresh-rate", type=_rate, default=(60, 60), metavar="N/S",
                   help="refresh_token requests forwarded to the upstream (default 60/60)")
    r.add_argument("--proxy-hops", type=_at_least(0), default=0, metavar="N",
                   help="trust N reverse proxies' X-Forwarded-For/-Proto/-Host for the "
                        "client address (default 0: the socket's peer)")
    s = p.add_argument_group("storage and server")
    s.add_argument("--store", default=None, metavar="URL",
                   help="sqlite:///path/file.sqlite3 (one instance; default %s) or "
                        "redis://host:port/db (several instances share it)" % default_store())
    s.add_argument("--redis-prefix", default="dp:",
                   help="key prefix in Redis (default %(default)r)")
    s.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1; others need --allow-remote)")
    s.add_argument("--port", type=_at_least(0), default=8780,
                   help="port to bind, 0 = a free one (default 8780)")
    s.add_argument("--allow-remote", action="store_true",
                   help="allow a non-loopback --host (behind TLS termination in production)")
    s.add_argument("--public-url", metavar="URL",
                   help="the proxy's URL as boards and browsers see it (issuer, "
                        "verification_uri, redirect URI /auth/redirect to register at the "
                        "upstream); default http://HOST:PORT as bound")
    s.add_argument("--workers", type=_at_least(1), default=1,
                   help="gunicorn worker processes (default 1)")
    s.add_argument("--threads", type=_at_least(1), default=32,
                   help="threads per worker (default 32)")
    s.add_argument("--log-level", choices=("debug", "info", "warning", "error"),
                   default="info", help="JSON log level on stderr; info logs every request "
                   "(default info)")
    return p


def is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _secret(args):
    if args.client_secret_file:
        try:
            with open(args.client_secret_file) as f:
                return f.read().strip() or None
        except OSError as e:
            raise SystemExit("deviceproxy: cannot read --client-secret-file: %s" % e.strerror)
    return os.environ.get(SECRET_ENV) or None


def make_upstream(args):
    secret = _secret(args)
    allow_http = args.allow_insecure_upstream
    if args.issuer:
        return Upstream.discover(args.issuer, args.client_id, secret, args.client_auth,
                                 allow_http)
    if not (args.authorization_endpoint and args.token_endpoint):
        raise UpstreamError("give --issuer, or --authorization-endpoint and --token-endpoint")
    return Upstream(args.authorization_endpoint, args.token_endpoint, args.client_id, secret,
                    args.client_auth, userinfo_endpoint=args.userinfo_endpoint,
                    allow_http=allow_http)


def main(argv=None):
    args = build_parser().parse_args(argv)
    host = args.host.strip("[]")
    if not is_loopback(host) and not args.allow_remote:
        print("deviceproxy: refusing to listen on %r: not a loopback address (add "
              "--allow-remote)" % args.host, file=sys.stderr)
        return 2
    logs.setup(getattr(logging, args.log_level.upper()))
    try:
        upstream = make_upstream(args)
    except UpstreamError as e:
        print("deviceproxy: upstream: %s" % e.reason, file=sys.stderr)
        return 1
    store_url = args.store or default_store()
    try:
        st = open_store(store_url, args.redis_prefix)
        st.ping()
        st.close()
    except (StoreError, OSError) as e:
        print("deviceproxy: store %s: %s" % (store_url.split("@")[-1], e), file=sys.stderr)
        return 1
    from .serve import serve

    def build(bound):
        cfg = Config(public_url=args.public_url or bound,
                     device_client_ids=args.device_client_ids or [args.client_id],
                     scopes=args.scopes.split(), expires_in=args.expires_in,
                     interval=args.interval, token_ttl=args.token_ttl,
                     device_code_rate=args.device_code_rate, entry_rate=args.entry_rate,
                     refresh_rate=args.refresh_rate, proxy_hops=args.proxy_hops)
        return cfg, open_store(store_url, args.redis_prefix)

    logs.event("starting", store=st.kind, upstream=upstream.authorization_endpoint,
               client_auth=upstream.client_auth, workers=args.workers)
    return serve(host, args.port, build, upstream, args.workers, args.threads,
                 args.log_level)
