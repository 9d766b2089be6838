"""End to end: the firmware on the simulator board (MicroPython unix port, Pico W-sized heap)
pairs with a real authorization server, approved in a real headless Chromium.

What a user would do, and nothing more: press the button (a line on the sim's stdin), read the
verification URL and the user code off the simulated OLED (the framebuffer, read back by exact
glyph matching in simscreen.py, never from the serial log or the server), and approve or deny
in the browser through WebDriver. A recording proxy between board and server keeps what the
server really issued, so the QR code on the OLED's PNG (decoded by zxing-cpp) is compared with
the server's own ``verification_uri_complete``. The second server is node's oidc-provider
(tools/interop). The board speaks HTTPS only, verified as on a real board: the authorization
server and the recording proxy serve a localhost certificate from the simulator's own CA
(``sim.ensure_tls``), which reaches the board as ca.der through tools/provision.py (node's
server speaks plain HTTP behind the TLS proxy). Every process runs in its own process group
and is killed by a finalizer; waits poll real events with short sleeps under a deadline.
"""

import importlib.util
import json
import os
import re
import shutil
import ssl
import subprocess
import time
import urllib.parse
import urllib.request

import pytest

import recproxy
import simscreen
import webdriver
from conftest import ROOT

_spec = importlib.util.spec_from_file_location("devicepair_tools_sim",
                                               os.path.join(ROOT, "tools", "sim.py"))
sim = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sim)

INTEROP = os.path.join(ROOT, "tools", "interop")
CODE_RE = re.compile(r"^[A-Z0-9]{4,}-[A-Z0-9]{4,}$")
CI = bool(os.environ.get("CI"))


def _need(ok, why):
    # A missing browser or npm install fails in CI and skips (loudly) on a dev machine.
    if not ok:
        if CI:
            pytest.fail(why)
        pytest.skip(why)


# -- fixtures ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mp(tmp_path_factory):
    return sim.build_mp(str(tmp_path_factory.mktemp("mp")))


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    """The simulator's CA and localhost certificate, and contexts for the host side."""
    paths = sim.ensure_tls(str(tmp_path_factory.mktemp("sim-tls")))
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(paths["cert"], paths["key"])
    client = ssl.create_default_context(cafile=paths["ca"])
    return dict(paths, server_ctx=server, client_ctx=client)


@pytest.fixture(scope="module")
def browser():
    _need(webdriver.available(), "chromium / chromedriver not installed")
    b = webdriver.Browser(accept_insecure_certs=True)
    yield b
    b.quit()


@pytest.fixture
def stack(tmp_path, mp, tls):
    """start_server(args) / start_node() / proxy(url) / start_sim(); all stopped after."""
    started = []

    class Stack:
        flash = str(tmp_path / "flash")
        out = str(tmp_path / "out")
        ca = tls["ca"]

        def server(self, *args):
            s = sim.AuthServer(str(tmp_path / "auth.sqlite3"), args, tls=tls)
            assert s.url.startswith("https://localhost:")
            started.append(s)
            return s

        def node(self):
            s = NodeProvider(str(tmp_path / "node.log"))
            started.append(s)
            return s

        def proxy(self, upstream):
            p = recproxy.RecordingProxy(upstream, tls["server_ctx"], tls["client_ctx"])
            started.append(p)
            return p

        def sim(self):
            s = sim.Simulator(mp, self.flash, self.out,
                              env={"DEVICEPAIR_SIM_WIFI": "ok,delay:200"})
            started.append(s)
            return s

    yield Stack()
    for s in reversed(started):
        s.stop()


class NodeProvider:
    """tools/interop/server.mjs (oidc-provider) on 127.0.0.1, a free port."""

    def __init__(self, log_path):
        node = shutil.which("node")
        _need(node is not None, "node not installed")
        _need(os.path.isdir(os.path.join(INTEROP, "node_modules", "oidc-provider")),
              "run: npm ci --prefix tools/interop")
        self._log = open(log_path, "w")
        self.proc = subprocess.Popen([node, "server.mjs", "0"], cwd=INTEROP, text=True,
                                     stdout=subprocess.PIPE, stderr=self._log,
                                     start_new_session=True)
        try:
            line = sim._readline(self.proc.stdout, 20)
            m = re.match(r"^oidc-provider listening on (http://127\.0\.0\.1:\d+)$", line.strip())
            assert m, "oidc-provider did not start: %r" % line
            self.url = m.group(1)
        except BaseException:
            self.stop()
            raise

    def stop(self):
        sim.stop_group(self.proc)
        self.proc.stdout.close()
        self._log.close()


# -- reading the board -------------------------------------------------------------------------
def wait_screen(board, pred, timeout, what):
    """The first frame (a simscreen.Screen) for which pred(screen) is true."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        scr = simscreen.read(os.path.join(board.out, "screen.bin"))
        if scr is not None:
            last = scr
            if pred(scr):
                return scr
        if time.monotonic() > deadline or board.proc.poll() is not None:
            raise AssertionError("screen never showed %s; last screen:\n%s\nlog tail:\n%s" % (
                what, last.text() if last else "(none)", "\n".join(board.lines[-30:])))
        time.sleep(0.05)


def wait_text(board, text, timeout=15):
    return wait_screen(board, lambda s: text in s.text(), timeout, repr(text))


def pairing_page(board, timeout=15):
    """(verification URL, user code) as the OLED's first pairing page shows them."""
    scr = wait_screen(board, lambda s: any(CODE_RE.match(t) for t in s.big()) or
                      any(CODE_RE.match(t) for _, _, _, t in s.lines()), timeout,
                      "a user code")
    lines = scr.lines()
    code = next(t for _, _, _, t in lines if CODE_RE.match(t))
    code_y = next(y for y, _, _, t in lines if t == code)
    url = "".join(t for y, _, size, t in lines if y < code_y and size == 1)
    if "://" not in url:  # the OLED leaves "https://" out: a browser adds it to what is typed
        url = "https://" + url
    return url, code


def decode_qr(path):
    import zxingcpp
    from PIL import Image

    found = zxingcpp.read_barcodes(Image.open(path).convert("L"))
    return [r.text for r in found if r.format == zxingcpp.BarcodeFormat.QRCode]


def wait_qr(board, timeout=20):
    """The text of the first QR code the board drew (its frame's PNG, decoded)."""
    deadline = time.monotonic() + timeout
    done = set()
    while time.monotonic() < deadline:
        for p in board.pngs():
            if p not in done and os.path.getsize(p) > 0:
                done.add(p)
                texts = decode_qr(p)
                if texts:
                    return texts[0]
        time.sleep(0.1)
    raise AssertionError("no QR code on the OLED within %ss" % timeout)


# -- the user in the browser -------------------------------------------------------------------
def authserver_decide(b, url, code, action="approve", timeout=20):
    """Sign in as demo, enter the code read off the OLED, approve or deny: the result text."""
    def step():
        if b.find("#result"):
            return b.text(b.find("#result"))
        if b.find("#username"):
            b.type(b.find("#username"), "demo")
            b.type(b.find("#password"), "demo")
            b.click(b.find("#signin"))
        elif b.find("#user_code"):
            b.type(b.find("#user_code"), code)
            b.click(b.find("#continue"))
        elif b.find("#" + action):
            b.click(b.find("#" + action))
        else:
            time.sleep(0.05)

    return drive(b, url, step, timeout)


def drive(b, url, step, timeout):
    # Run step() until it returns a result; a page that changes under it is just read again.
    b.delete_cookies()
    b.get(url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            done = step()
        except webdriver.WebDriverError as e:
            # the page navigated between finding an element and using it (an element of the
            # next page may not take input yet): read it again; one that never does ends below
            if not any(m in str(e) for m in ("stale element", "no such element",
                                              "does not belong to the document",
                                              "invalid element state", "not interactable")):
                raise
            continue
        if done:
            return done
    raise AssertionError("browser stuck at %s" % b.url)


def oidc_provider_approve(b, url, code, timeout=30):
    """oidc-provider's own pages: code, confirm, dev login (any user), consent, success."""
    def step():
        h1 = b.find("h1")
        title = b.text(h1) if h1 else ""
        if "Success" in title:
            return title
        # each element is used as found: between two finds the page may have moved on (the
        # confirm page carries the code again in a hidden input, which cannot be typed into)
        entry = b.find("input[name=user_code][type=text]")
        if entry:
            b.type(entry, code)
            b.click(b.find("button[type=submit]"))
        elif b.find("input[name=login]"):
            b.type(b.find("input[name=login]"), "interop")
            b.type(b.find("input[name=password]"), "any")
            b.click(b.find("button[type=submit]"))
        elif b.find("button[type=submit]:not([name=abort])"):
            b.click(b.find("button[type=submit]:not([name=abort])"))
        else:
            time.sleep(0.05)

    return drive(b, url, step, timeout)


def post_form(url, fields, context=None):
    req = urllib.request.Request(url, urllib.parse.urlencode(fields).encode())
    with urllib.request.urlopen(req, timeout=10, context=context) as r:
        return r.status


def start_pairing(board):
    wait_text(board, "Press button to", 20)
    board.press()
    return pairing_page(board)


# -- the tests ---------------------------------------------------------------------------------
def test_pair_qr_restart_refresh_and_revoke(stack, browser, tls):
    # access tokens live 125 s and the app refreshes when < 120 s remain: about every 5 s
    srv = stack.server("--interval", "1", "--access-token-ttl", "125")
    px = stack.proxy(srv.url)
    sim.write_config(stack.flash, px.url, ca_pem=stack.ca)
    board = stack.sim()
    url, code = start_pairing(board)
    issued = px.bodies("/device_authorization", 200)
    assert len(issued) == 1 and issued[0]["user_code"] == code
    assert url == issued[0]["verification_uri"] == srv.url + "/device"

    # the QR page comes after the code page; its QR is what the server issued
    assert wait_qr(board) == issued[0]["verification_uri_complete"]

    assert "approved" in authserver_decide(browser, url, code, "approve")
    scr = wait_text(board, "as Demo User")
    assert "Paired" in scr.big()
    board.wait_for(r"paired as Demo User$", 5)
    stored = json.load(open(os.path.join(stack.flash, "tokens.json")))
    assert stored["access_token"] and stored["refresh_token"] and stored["name"] == "Demo User"

    # a restart finds the token: "Paired as" again with no new pairing
    board.stop()
    board = stack.sim()
    wait_text(board, "as Demo User", 20)
    assert not [ln for ln in board.lines if "state: polling" in ln or "state: idle" in ln]
    assert len(px.bodies("/device_authorization")) == 1

    # the short-lived access token is refreshed (and rotated) by the token endpoint
    board.wait_for(r"token refreshed$", 15)
    assert any(b and b.get("refresh_token") for b in px.bodies("/token", 200)[1:])

    # the server revokes the pairing: the next refresh fails and the board unpairs
    deadline = time.monotonic() + 30
    while True:
        rt = json.load(open(os.path.join(stack.flash, "tokens.json")))["refresh_token"]
        assert post_form(srv.url + "/revoke", {"token": rt, "token_type_hint": "refresh_token",
                                               "client_id": sim.CLIENT_ID},
                         tls["client_ctx"]) == 200
        try:  # a refresh may have rotated the token just before: then revoke the new one
            board.wait_for(r"unpaired: Sign-in expired$", 8)
            break
        except TimeoutError:
            assert time.monotonic() < deadline, "\n".join(board.lines[-30:])
    scr = wait_text(board, "press to pair")
    assert "Sign-in expired" in scr.text()
    assert not os.path.exists(os.path.join(stack.flash, "tokens.json"))
    board.press()  # and the button starts a new pairing
    pairing_page(board)
    assert len(px.bodies("/device_authorization", 200)) == 2


def test_deny_in_browser(stack, browser):
    srv = stack.server("--interval", "1")
    sim.write_config(stack.flash, srv.url, ca_pem=stack.ca)
    board = stack.sim()
    url, code = start_pairing(board)
    assert "denied" in authserver_decide(browser, url, code, "deny")
    scr = wait_text(board, "Press to retry")
    assert "Denied" in scr.big()
    assert not os.path.exists(os.path.join(stack.flash, "tokens.json"))


def test_code_expires(stack):
    srv = stack.server("--interval", "1", "--expires-in", "10")
    sim.write_config(stack.flash, srv.url, ca_pem=stack.ca)
    board = stack.sim()
    start_pairing(board)
    scr = wait_text(board, "Code expired", 20)
    assert "Expired" in scr.big()
    board.wait_for(r"state: expired$", 1)
    assert not os.path.exists(os.path.join(stack.flash, "tokens.json"))


def test_interop_oidc_provider(stack, browser):
    op = stack.node()
    px = stack.proxy(op.url)
    sim.write_config(stack.flash, px.url, ca_pem=stack.ca,
                     device_authorization_endpoint=px.url + "/device/auth",
                     token_endpoint=px.url + "/token", userinfo_endpoint=px.url + "/me")
    board = stack.sim()
    url, code = start_pairing(board)
    issued = px.bodies("/device/auth", 200)
    assert len(issued) == 1 and issued[0]["user_code"] == code and "interval" not in issued[0]
    assert url == issued[0]["verification_uri"] == op.url + "/device"
    assert "Success" in oidc_provider_approve(browser, url, code)
    scr = wait_text(board, "as Interop User", 20)
    assert "Paired" in scr.big()
    tokens = [b for b in px.bodies("/token", 200) if b and "access_token" in b]
    assert len(tokens) == 1
    assert tokens[0]["id_token"].count(".") == 2 and tokens[0]["refresh_token"]
    assert "offline_access" in tokens[0]["scope"].split()
    stored = json.load(open(os.path.join(stack.flash, "tokens.json")))
    assert stored["access_token"] == tokens[0]["access_token"]
    assert stored["refresh_token"] == tokens[0]["refresh_token"]
    assert "id_token" not in stored  # the device keeps only what it needs
    # no interval sent: RFC 8628's 5 s default, from the device code response to each poll
    times = [t for m, p, s, b, t in px.timed() if p in ("/device/auth", "/token")]
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert gaps and min(gaps) >= 4.9, gaps
