"""gunicorn as the production server process, started from Python (no config file).

gthread workers: each worker process has a thread pool and keeps idle connections in a
selector, so a thousand boards polling at once cost sockets, not threads. The socket is bound
in the master before any worker forks; ``when_ready`` learns the real port (``--port 0``),
prints the one stdout line and the workers, forked after it, build the app for that URL, each
with its own store connection. Gunicorn's own log goes to stderr at WARNING and above, as
JSON lines like the proxy's (``event: gunicorn``).
"""

import json
import logging
import sys
import time

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger


class _JsonLines(logging.Formatter):
    def format(self, record):
        return json.dumps({"ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
                           + "Z", "level": record.levelname.lower(), "event": "gunicorn",
                           "message": record.getMessage()[:500]})


class JsonLogger(Logger):
    """gunicorn's own messages (worker boot, timeouts) as the same JSON lines as ours."""

    def setup(self, cfg):
        super().setup(cfg)
        for h in self.error_log.handlers:
            h.setFormatter(_JsonLines())


class _App(BaseApplication):
    def __init__(self, options, factory):
        self.options = options
        self.factory = factory
        super().__init__()

    def load_config(self):
        for k, v in self.options.items():
            self.cfg.set(k, v)

    def load(self):
        return self.factory()


def serve(host, port, build, upstream, workers, threads, log_level):
    bound = {}

    def when_ready(server):
        h, p = server.LISTENERS[0].sock.getsockname()[:2]
        url_host = "[%s]" % h if ":" in h else h
        bound["url"] = "http://%s:%d" % (url_host, p)
        print("deviceproxy listening on " + bound["url"], flush=True)

    def factory():
        from .web import create_app

        cfg, store = build(bound["url"])
        return create_app(cfg, store, upstream)

    bind = "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)
    options = {
        "bind": [bind], "workers": workers, "threads": threads, "worker_class": "gthread",
        "worker_connections": 4096, "backlog": 2048, "keepalive": 5, "timeout": 30,
        "graceful_timeout": 3, "accesslog": None, "errorlog": "-",
        "loglevel": "warning" if log_level != "debug" else "info", "when_ready": when_ready,
        "proc_name": "deviceproxy", "logger_class": JsonLogger, "preload_app": False,
        "limit_request_line": 8190,
    }
    sys.argv = sys.argv[:1]  # gunicorn parses nothing of ours
    _App(options, factory).run()
    return 0
