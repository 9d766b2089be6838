"""Processes and a scripted user for the device-flow proxy tests (tools/deviceproxy).

``Proxy(args)``: the real proxy (gunicorn, as in production) in its own process group on
127.0.0.1 with ``--port 0``; ``url`` from its first stdout line, ``log()`` its JSON logs.
``Redis(dir)``: a real ``redis-server`` on 127.0.0.1, a free port, no persistence, data in a
temp dir. ``NodeUpstream``: tools/interop/upstream.mjs (oidc-provider, authorization code +
PKCE). ``User``: a browser without a browser - a cookie jar that walks the proxy's pages
(GET the complete URI, POST the code with its CSRF token, POST approve/deny) and follows the
redirects through a scripted upstream. ``form(url, fields)``: a form POST -> (status, JSON).
Every wait is bounded; ``stop()`` always reaps the process group.
"""

import http.cookiejar
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
GRANT = "urn:ietf:params:oauth:grant-type:device_code"
CSRF_RE = re.compile(r'name="csrf" value="([0-9a-f]+)"')


def stop_group(proc, timeout=5):
    if proc is None or proc.poll() is not None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout)
            return
        except subprocess.TimeoutExpired:
            continue


def _readline(proc, timeout):
    import selectors

    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    try:
        return proc.stdout.readline() if sel.select(timeout) else ""
    finally:
        sel.close()


class Proxy:
    """tools/deviceproxy under gunicorn; extra ``env`` (e.g. the client secret)."""

    def __init__(self, log_path, args, env=None, timeout=20):
        self.log_path = log_path
        self._log = open(log_path, "w")
        e = dict(os.environ)
        e.update(env or {})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tools.deviceproxy", "--port", "0"] + list(args),
            cwd=ROOT, env=e, stdout=subprocess.PIPE, stderr=self._log, text=True,
            start_new_session=True)
        try:
            line = _readline(self.proc, timeout)
            m = re.match(r"^deviceproxy listening on (http://127\.0\.0\.1:\d+)$", line.strip())
            if not m:
                raise RuntimeError("deviceproxy did not start: %r\n%s" % (line, self.log()))
            self.url = m.group(1)
        except BaseException:
            self.stop()
            raise

    def log(self):
        with open(self.log_path) as f:
            return f.read()

    def events(self, name=None):
        out = []
        for ln in self.log().splitlines():
            if ln.startswith("{"):
                d = json.loads(ln)
                if name is None or d.get("event") == name:
                    out.append(d)
        return out

    def stop(self):
        stop_group(self.proc)
        if self.proc.stdout:
            self.proc.stdout.close()
        self._log.close()


def free_port():
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


class Redis:
    """redis-server on 127.0.0.1 (a free port, retried if taken meanwhile), no persistence."""

    def __init__(self, workdir, timeout=10):
        exe = shutil.which("redis-server")
        if exe is None:
            raise FileNotFoundError("redis-server")
        os.makedirs(workdir, exist_ok=True)
        for _ in range(5):
            self.port = free_port()
            self.proc = subprocess.Popen(
                [exe, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", workdir,
                 "--save", "", "--appendonly", "no", "--protected-mode", "yes",
                 "--maxclients", "10000"],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                start_new_session=True)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                    self.url = "redis://127.0.0.1:%d/0" % self.port
                    return
                except OSError:
                    time.sleep(0.05)
            stop_group(self.proc)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        stop_group(self.proc)
        if self.proc.stdout:
            self.proc.stdout.close()


class NodeUpstream:
    """tools/interop/upstream.mjs: oidc-provider with authorization code + PKCE only."""

    SECRET = "deviceproxy-test-secret"  # the test-only secret in upstream.mjs
    CLIENT_ID = "deviceproxy"

    def __init__(self, log_path, access_ttl=3600, timeout=20):
        node = shutil.which("node")
        interop = os.path.join(ROOT, "tools", "interop")
        self._log = open(log_path, "w")
        self.proc = subprocess.Popen([node, "upstream.mjs", "0", str(access_ttl)], cwd=interop,
                                     text=True, stdout=subprocess.PIPE, stderr=self._log,
                                     start_new_session=True)
        try:
            line = _readline(self.proc, timeout)
            m = re.match(r"^oidc-provider upstream listening on (http://127\.0\.0\.1:\d+)$",
                         line.strip())
            if not m:
                raise RuntimeError("upstream.mjs did not start: %r" % line)
            self.url = m.group(1)
        except BaseException:
            self.stop()
            raise

    def stop(self):
        stop_group(self.proc)
        self.proc.stdout.close()
        self._log.close()


def form(url, fields, timeout=10):
    """POST form fields -> (status, parsed JSON or None, headers)."""
    req = urllib.request.Request(url, urllib.parse.urlencode(fields).encode())
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, body, headers = r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        status, body, headers = e.code, e.read(), e.headers
        e.close()
    try:
        return status, json.loads(body), headers
    except ValueError:
        return status, None, headers


def device_code(proxy_url, client_id, **extra):
    fields = {"client_id": client_id}
    fields.update(extra)
    return form(proxy_url + "/device/code", fields)


def poll(proxy_url, device_code_value, client_id):
    return form(proxy_url + "/device/token", {"grant_type": GRANT, "client_id": client_id,
                                              "device_code": device_code_value})


class User:
    """One browser: its cookie jar, the pages it saw (``pages``: (url, status, html))."""

    def __init__(self):
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.pages = []

    def open(self, url, fields=None, timeout=15):
        data = urllib.parse.urlencode(fields).encode() if fields is not None else None
        try:
            with self.opener.open(url, data, timeout=timeout) as r:
                status, html, final = r.status, r.read().decode(), r.url
        except urllib.error.HTTPError as e:
            status, html, final = e.code, e.read().decode(), e.url
            e.close()
        self.pages.append((final, status, html))
        return status, html

    def csrf(self, html):
        m = CSRF_RE.search(html)
        assert m, "no CSRF token on the page:\n" + html[:2000]
        return m.group(1)

    def enter(self, verification_uri_complete):
        """GET the complete URI; POST the prefilled code -> (status, confirmation html)."""
        status, html = self.open(verification_uri_complete)
        assert status == 200, html
        code = re.search(r'id="user_code" name="user_code" value="([^"]*)"', html).group(1)
        return self.open(verification_uri_complete.split("?")[0],
                         {"csrf": self.csrf(html), "user_code": code})

    def decide(self, proxy_url, confirm_html, action="approve"):
        code = re.search(r'name="user_code" value="([^"]*)"', confirm_html).group(1)
        return self.open(proxy_url + "/device/approve", {"csrf": self.csrf(confirm_html),
                                                         "user_code": code,
                                                         "action": action})

    def approve(self, issued, action="approve"):
        """The whole browser side for one device code response -> (status, result html)."""
        status, html = self.enter(issued["verification_uri_complete"])
        assert status == 200 and 'id="approve"' in html, html
        base = issued["verification_uri"].rsplit("/device", 1)[0]
        return self.decide(base, html, action)


def result_status(html):
    m = re.search(r'id="result" data-status="([a-z]+)"', html)
    return m.group(1) if m else None
