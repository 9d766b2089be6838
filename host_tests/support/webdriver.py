"""A minimal W3C WebDriver client for chromedriver + headless Chromium, over plain urllib.

Enough to drive a verification page like a user: open a URL, find elements by CSS, type,
click, read text, drop cookies. No selenium (its current release does not install here).
chromedriver runs in its own process group on 127.0.0.1 and ``quit()`` ends the session and
kills that group (Chromium included). Every wait is bounded.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run",
        "--disable-dev-shm-usage", "--window-size=800,900"]
_ELEMENT = "element-6066-11e4-a52e-4f735466cecf"


def available():
    return os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)


class WebDriverError(Exception):
    pass


def _free_port():
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


class Browser:
    def __init__(self, timeout=30, accept_insecure_certs=False):
        self.profile = tempfile.mkdtemp(prefix="devicepair-chromium-")
        self.port = _free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        self._log = open(os.path.join(self.profile, "chromedriver.log"), "w")
        self.proc = subprocess.Popen(
            [CHROMEDRIVER, "--port=%d" % self.port, "--allowed-ips=127.0.0.1"],
            stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        self.session = None
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    if self._call("GET", "/status", timeout=2).get("ready"):
                        break
                except (OSError, WebDriverError):
                    pass
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise WebDriverError("chromedriver did not start")
                time.sleep(0.05)
            caps = {"capabilities": {"alwaysMatch": {
                "browserName": "chrome", "pageLoadStrategy": "normal",
                # the user's browser does not know the simulator's own CA; the board does
                "acceptInsecureCerts": bool(accept_insecure_certs),
                "goog:chromeOptions": {"binary": CHROMIUM, "args": ARGS + [
                    "--user-data-dir=" + os.path.join(self.profile, "data")]}}}}
            v = self._call("POST", "/session", caps, timeout=timeout)
            self.session = v["sessionId"]
            self._call("POST", self._s("/timeouts"), {"pageLoad": 15000, "script": 5000,
                                                      "implicit": 0})
        except BaseException:
            self.quit()
            raise

    def _s(self, path):
        return "/session/%s%s" % (self.session, path)

    def _call(self, method, path, body=None, timeout=20):
        data = None if body is None else json.dumps(body).encode()
        if method == "POST" and data is None:
            data = b"{}"
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                out = json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            with e:
                try:
                    v = json.loads(e.read()).get("value", {})
                except ValueError:
                    v = {}
            raise WebDriverError("%s %s: %s %s" % (method, path.split("/")[-1],
                                                   v.get("error"), v.get("message", "")[:300]))
        return out.get("value", out) if isinstance(out, dict) else out

    # -- the page ---------------------------------------------------------------------------
    def get(self, url):
        self._call("POST", self._s("/url"), {"url": url})

    @property
    def url(self):
        return self._call("GET", self._s("/url"))

    def source(self):
        return self._call("GET", self._s("/source"))

    def find(self, css):
        """The first element matching ``css``, or None."""
        v = self._call("POST", self._s("/elements"), {"using": "css selector", "value": css})
        return v[0][_ELEMENT] if v else None

    def wait(self, css, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            el = self.find(css)
            if el is not None:
                return el
            if time.monotonic() > deadline:
                raise WebDriverError("no %s on %s" % (css, self.url))
            time.sleep(0.05)

    def click(self, el):
        self._call("POST", self._s("/element/%s/click" % el))

    def type(self, el, text):
        self._call("POST", self._s("/element/%s/clear" % el))
        self._call("POST", self._s("/element/%s/value" % el), {"text": text})

    def text(self, el):
        return self._call("GET", self._s("/element/%s/text" % el))

    def attr(self, el, name):
        return self._call("GET", self._s("/element/%s/attribute/%s" % (el, name)))

    def delete_cookies(self):
        self._call("DELETE", self._s("/cookie"))

    def quit(self):
        try:
            if self.session is not None and self.proc.poll() is None:
                self._call("DELETE", self._s(""), timeout=10)
        except (OSError, WebDriverError):
            pass
        self.session = None
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(5)
                break
            except subprocess.TimeoutExpired:
                continue
        self._log.close()
        shutil.rmtree(self.profile, ignore_errors=True)
