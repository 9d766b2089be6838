"""A local HTTP(S) server on 127.0.0.1 that plays scripted responses (CPython only).

A test (on either interpreter) first POSTs its script to ``/_script``::

    {"/token": [{"status": 400, "json": {"error": "authorization_pending"}, "repeat": 3},
                {"json": {"access_token": "..."}}]}

and gets ``{"id": SID}``. Requests to ``/SID/token`` then consume that list in order; an
exhausted list answers 599 so an over-polling client fails loudly. ``GET /_log/SID`` returns
what the client sent (method, path, headers, body; ``?first=N``, ``?last=N``,
``?count=1``) so tests can assert the wire format.

Response fields: ``status`` (200), ``json`` | ``form`` (dict, urlencoded) | ``body`` (str) |
``raw`` (hex of the exact body bytes, invalid UTF-8 included),
``headers``, ``content_type``, ``chunked`` (send chunked), ``size`` (a body of N bytes),
``close`` (drop the connection without answering), ``delay_ms`` (wait before answering).
"""

import json
import socket
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _State:
    def __init__(self):
        self.lock = threading.Lock()
        self.scripts = {}
        self.logs = {}
        self.next_id = 1


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "scripted"

    def log_message(self, *args):
        pass

    def _read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _send(self, status, body, ctype="application/json", headers=None, chunked=False):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if chunked:
            for i in range(0, len(body), 7):
                part = body[i:i + 7]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.wfile.write(body)
        self.close_connection = True

    def _dispatch(self):
        st = self.server.state
        body = self._read_body()
        path = urllib.parse.urlsplit(self.path).path
        if path == "/_script" and self.command == "POST":
            with st.lock:
                sid = "s%d" % st.next_id
                st.next_id += 1
                script = {}
                for p, lst in json.loads(body).items():
                    q = []
                    for r in lst:
                        q.extend([r] * int(r.get("repeat", 1)))
                    script[p] = q
                st.scripts[sid] = script
                st.logs[sid] = []
            return self._send(200, json.dumps({"id": sid}).encode())
        if path.startswith("/_log/"):
            q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
            with st.lock:
                log = st.logs.get(path[6:], [])
                if "last" in q:  # keep replies small for board-sized heaps
                    log = log[-int(q["last"][0]):]
                if "first" in q:
                    log = log[:int(q["first"][0])]
                if "count" in q:
                    log = [len(log)]
            return self._send(200, json.dumps(log).encode())
        parts = path.split("/", 2)
        sid = parts[1] if len(parts) > 1 else ""
        rest = "/" + (parts[2] if len(parts) > 2 else "")
        with st.lock:
            if sid not in st.scripts:
                return self._send(404, b'{"error":"no such script"}')
            st.logs[sid].append({
                "method": self.command, "path": rest,
                "query": urllib.parse.urlsplit(self.path).query,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("utf-8", "replace"), "t": time.time(),
            })
            queue = st.scripts[sid].get(rest)
            r = queue.pop(0) if queue else None
        if r is None:
            return self._send(599, b'{"error":"script_exhausted"}')
        if r.get("delay_ms"):
            time.sleep(r["delay_ms"] / 1000)
        if r.get("close"):
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return None
        ctype = r.get("content_type")
        if "json" in r:
            out = json.dumps(r["json"]).encode()
            ctype = ctype or "application/json"
        elif "form" in r:
            out = urllib.parse.urlencode(r["form"]).encode()
            ctype = ctype or "application/x-www-form-urlencoded"
        elif "raw" in r:
            out = bytes.fromhex(r["raw"])
            ctype = ctype or "application/json"
        elif "size" in r:
            out = b"x" * int(r["size"])
            ctype = ctype or "application/json"
        else:
            out = r.get("body", "").encode()
            ctype = ctype or "text/plain"
        return self._send(int(r.get("status", 200)), out, ctype, r.get("headers"),
                          r.get("chunked"))

    def handle(self):
        try:
            BaseHTTPRequestHandler.handle(self)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client refused an oversized body and hung up: that is the test

    do_GET = do_POST = do_PUT = do_DELETE = _dispatch


class ScriptedServer:
    """Start with ``ScriptedServer().start()``; ``url`` is the base; ``stop()`` always."""

    def __init__(self, ssl_context=None, host="127.0.0.1"):
        self.httpd = ThreadingHTTPServer((host, 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.state = _State()
        if ssl_context is not None:
            self.httpd.socket = ssl_context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        scheme = "https" if ssl_context else "http"
        self.url = "%s://%s:%d" % (scheme, "localhost" if ssl_context else host, self.port)
        self._thread = None

    def start(self):
        self._thread = threading.Thread(target=self.httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05})
        self._thread.daemon = True
        self._thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread:
            self._thread.join(5)


if __name__ == "__main__":  # manual use: python scripted_server.py
    s = ScriptedServer().start()
    print(s.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        s.stop()
