"""A recording reverse proxy for end-to-end tests: what did the server really send the device?

The device talks to ``proxy.url + path``; each request is forwarded unchanged to the upstream
server, and the response is returned unchanged and kept in ``records`` as (method, path,
status, parsed JSON body or None, time.monotonic() of the request). Tests compare what the
board shows with these bodies (the QR against ``verification_uri_complete``) and check token
responses (``id_token`` present) without the board having to keep or print any token.
CPython only; 127.0.0.1; ``stop()`` always; records stay in memory and are never printed.
With ``ssl_context`` (a server context for localhost) the device talks HTTPS to the proxy and
``url`` is ``https://localhost:PORT``; an https upstream is verified with ``upstream_context``.
"""

import http.client
import http.server
import json
import threading
import time
import urllib.parse

_HOP = ("connection", "keep-alive", "transfer-encoding", "content-length", "host")


class RecordingProxy:
    def __init__(self, upstream, ssl_context=None, upstream_context=None):
        u = urllib.parse.urlsplit(upstream)
        self.upstream = (u.hostname, u.port)
        tls_up = u.scheme == "https"
        self.records = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _forward(self):
                t = time.monotonic()
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                if tls_up:
                    conn = http.client.HTTPSConnection(*proxy.upstream, timeout=20,
                                                       context=upstream_context)
                else:
                    conn = http.client.HTTPConnection(*proxy.upstream, timeout=20)
                try:
                    conn.request(self.command, self.path, body, headers)
                    r = conn.getresponse()
                    data = r.read()
                    out = [(k, v) for k, v in r.getheaders() if k.lower() not in _HOP]
                    status = r.status
                finally:
                    conn.close()
                try:
                    parsed = json.loads(data)
                except ValueError:
                    parsed = None
                with proxy._lock:
                    proxy.records.append((self.command, self.path.split("?")[0], status,
                                          parsed, t))
                self.send_response(status)
                for k, v in out:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(data)
                self.close_connection = True

            do_GET = do_POST = _forward

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        if ssl_context is not None:
            self.server.socket = ssl_context.wrap_socket(self.server.socket, server_side=True)
            self.url = "https://localhost:%d" % self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def bodies(self, path, status=None):
        """Parsed JSON response bodies for ``path`` (optionally only with ``status``)."""
        with self._lock:
            return [b for m, p, s, b, t in self.records
                    if p == path and (status is None or s == status)]

    def timed(self):
        """A copy of ``records``."""
        with self._lock:
            return list(self.records)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)
