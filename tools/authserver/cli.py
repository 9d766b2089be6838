"""Command line: parse options, refuse non-loopback binds, serve until SIGTERM/SIGINT.

The first line on stdout is always ``authserver listening on http://HOST:PORT`` (flushed),
so a test or script can start the server with --port 0 and read the URL; with ``--tls-cert``
and ``--tls-key`` it serves HTTPS and says ``https://localhost:PORT`` (the name its
certificate is for, as a board checks it). Everything else
(logs) goes to stderr and never contains a token or device code.
"""

import argparse
import ipaddress
import logging
import os
import signal
import sys

from .config import DEFAULT_CLIENT_ID, DEFAULT_SCOPES, DEFAULT_USER, Config, default_db_path

log = logging.getLogger("authserver")


def _user(text):
    parts = text.split(":", 2)
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise argparse.ArgumentTypeError("expected NAME:PASSWORD[:DISPLAY NAME]")
    name, password = parts[0], parts[1]
    display = parts[2] if len(parts) == 3 and parts[2] else (
        DEFAULT_USER[2] if name == DEFAULT_USER[0] else name)
    return (name, password, display)


def _at_least(minimum, kind=int):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError("not a number: %r" % text) from None
        if value < minimum:
            raise argparse.ArgumentTypeError("must be >= %s" % minimum)
        return value
    return parse


def build_parser():
    p = argparse.ArgumentParser(
        prog="authserver",
        description="Local OAuth 2.0 device authorization server (RFC 8628) for devicepair "
                    "development, the simulator and tests.",
    )
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1; loopback only without "
                        "--allow-remote)")
    p.add_argument("--port", type=_at_least(0), default=8765,
                   help="port to bind, 0 = pick a free one (default 8765)")
    p.add_argument("--allow-remote", action="store_true",
                   help="allow a non-loopback --host (real boards on your LAN); plain HTTP!")
    p.add_argument("--public-url", help="base URL clients should use (issuer, verification "
                   "URI); default http://HOST:PORT as bound")
    p.add_argument("--db", help="SQLite file (default %s)" % "$XDG_STATE_HOME/devicepair/"
                   "authserver.sqlite3); the id_token key is kept beside it as <db>.key.pem")
    p.add_argument("--client-id", action="append", dest="client_ids", metavar="ID",
                   help="public client allowed to pair (repeatable; default %s)"
                        % DEFAULT_CLIENT_ID)
    p.add_argument("--user", action="append", dest="users", type=_user,
                   metavar="NAME:PASSWORD[:DISPLAY]",
                   help="user who can sign in (repeatable; default demo:demo, 'Demo User'); "
                        "the first one is used by --auto-approve/--auto-deny")
    p.add_argument("--scopes", default=" ".join(DEFAULT_SCOPES),
                   help="space-separated scopes clients may request (default %(default)r)")
    p.add_argument("--expires-in", type=_at_least(1), default=600,
                   help="device/user code lifetime in s (default 600)")
    p.add_argument("--interval", type=_at_least(1), default=5,
                   help="minimum polling interval in s (default 5)")
    p.add_argument("--access-token-ttl", type=_at_least(1), default=3600,
                   help="access token lifetime in s (default 3600)")
    auto = p.add_mutually_exclusive_group()
    auto.add_argument("--auto-approve", type=_at_least(0, float), metavar="SECONDS",
                      help="approve every pending code SECONDS after issue, as the first user")
    auto.add_argument("--auto-deny", type=_at_least(0, float), metavar="SECONDS",
                      help="deny every pending code SECONDS after issue")
    p.add_argument("--tls-cert", metavar="PEM", help="serve HTTPS with this certificate "
                   "(chain) for localhost; tools/sim.py makes one from its own CA")
    p.add_argument("--tls-key", metavar="PEM", help="the private key of --tls-cert")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="debug logging (authlib's own loggers stay at WARNING: they log tokens)")
    return p


def is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def setup_logging(verbose):
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format="%(asctime)s authserver %(levelname)s %(message)s",
    )
    log.setLevel(logging.DEBUG if verbose else logging.INFO)
    # authlib logs whole token responses at DEBUG ("Issue token %r"): never enable that
    logging.getLogger("authlib").setLevel(logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


def main(argv=None):
    args = build_parser().parse_args(argv)
    host = args.host.strip("[]")
    if not is_loopback(host) and not args.allow_remote:
        print("authserver: refusing to listen on %r: not a loopback address (use "
              "--allow-remote to expose this development server)" % args.host, file=sys.stderr)
        return 2
    if bool(args.tls_cert) != bool(args.tls_key):
        print("authserver: --tls-cert and --tls-key go together", file=sys.stderr)
        return 2
    ssl_ctx = None
    if args.tls_cert:
        import ssl

        ssl_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            ssl_ctx.load_cert_chain(args.tls_cert, args.tls_key)
        except (OSError, ssl.SSLError) as err:
            print("authserver: cannot load --tls-cert/--tls-key: %s" % err, file=sys.stderr)
            return 2
    setup_logging(args.verbose)
    if not is_loopback(host) and not ssl_ctx:
        # authlib refuses plain-http requests unless the Host is loopback
        os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"
        log.warning("listening on non-loopback %s over plain HTTP: development only", host)

    from werkzeug.serving import WSGIRequestHandler, make_server

    from .web import create_app

    class Handler(WSGIRequestHandler):
        def log_request(self, code="-", size="-"):
            path = getattr(self, "path", "?").split("?", 1)[0]  # query strings may hold secrets
            log.info("%s %s %s", getattr(self, "command", "?"), path, code)

    def not_ready(environ, start_response):
        start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
        return [b"starting\n"]

    try:
        srv = make_server(host, args.port, not_ready, threaded=True, request_handler=Handler,
                          ssl_context=ssl_ctx)
    except OSError as err:
        print("authserver: cannot listen on %s port %d: %s" % (args.host, args.port, err),
              file=sys.stderr)
        return 1
    url_host = "[%s]" % host if ":" in host else host
    bound = "http://%s:%d" % (url_host, srv.server_port)
    if ssl_ctx is not None:  # the certificate names localhost; clients check that name
        bound = "https://%s:%d" % ("localhost" if is_loopback(host) else url_host,
                                   srv.server_port)
    cfg = Config(
        public_url=(args.public_url or bound).rstrip("/"),
        db_path=args.db or default_db_path(),
        client_ids=args.client_ids or [DEFAULT_CLIENT_ID],
        users=args.users or [DEFAULT_USER],
        scopes=tuple(args.scopes.split()),
        expires_in=args.expires_in,
        interval=args.interval,
        access_token_ttl=args.access_token_ttl,
        auto_approve=args.auto_approve,
        auto_deny=args.auto_deny,
        cookie_name="authserver_session_%d" % srv.server_port,
    )
    try:
        srv.app = create_app(cfg)
    except Exception:
        srv.server_close()
        raise
    log.info("db %s, clients %s, users %s", cfg.db_path, " ".join(cfg.client_ids),
             " ".join(u[0] for u in cfg.users))
    if cfg.auto_approve is not None or cfg.auto_deny is not None:
        log.info("auto-%s pending codes after %ss", "approve" if cfg.auto_approve is not None
                 else "deny", cfg.auto_approve if cfg.auto_approve is not None
                 else cfg.auto_deny)
    print("authserver listening on " + bound, flush=True)

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    try:
        srv.serve_forever()  # returns on SIGINT, raises SystemExit on SIGTERM
    finally:
        srv.server_close()
        srv.app.extensions["authserver"].store.close()
        log.info("stopped")
    return 0
