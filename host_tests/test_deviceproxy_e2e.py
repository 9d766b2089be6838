"""End to end through the device-flow proxy: the real firmware, a real upstream, a real browser.

The firmware runs on the simulator board under MicroPython (tools/sim.py) with ``provider:
proxy`` pointed at tools/deviceproxy (gunicorn, SQLite), whose upstream is node's
oidc-provider speaking only the authorization code flow with PKCE (tools/interop/upstream.mjs,
a confidential client whose secret only the proxy holds). Headless Chromium plays the user:
it opens the URL read off the OLED, types the code, confirms at the proxy, signs in and
consents at oidc-provider (or cancels there), and lands back on the proxy. The board must
show "Paired as Upstream User", refresh its short-lived token through the proxy, show
"Denied" after a cancel at the upstream and "Code expired" when nobody comes. A recording
proxy between board and device proxy keeps the device code, to replay it (used code) and to
poll it with another client_id.
"""

import json
import os
import shutil
import time

import pytest

import recproxy
import test_e2e_sim as e2e
import webdriver
from proxy_stack import NodeUpstream, Proxy, poll
from test_e2e_sim import pairing_page, sim, start_pairing, wait_text

DEVICE = "devicepair-sim"


@pytest.fixture(scope="module")
def mp(tmp_path_factory):
    return sim.build_mp(str(tmp_path_factory.mktemp("mp")))


@pytest.fixture(scope="module")
def browser():
    e2e._need(webdriver.available(), "chromium / chromedriver not installed")
    b = webdriver.Browser()
    yield b
    b.quit()


@pytest.fixture(scope="module")
def upstream(tmp_path_factory):
    e2e._need(shutil.which("node") is not None, "node not installed")
    e2e._need(os.path.isdir(os.path.join(e2e.INTEROP, "node_modules", "oidc-provider")),
              "run: npm ci --prefix tools/interop")
    # access tokens live 125 s and the board refreshes when < 120 s remain: after ~5 s
    u = NodeUpstream(str(tmp_path_factory.mktemp("node") / "upstream.log"), access_ttl=125)
    yield u
    u.stop()


@pytest.fixture
def stack(tmp_path, mp, upstream):
    started = []

    class Stack:
        flash = str(tmp_path / "flash")
        out = str(tmp_path / "out")

        def proxy(self, *args):
            p = Proxy(str(tmp_path / ("proxy%d.log" % len(started))),
                      ["--issuer", upstream.url, "--client-id", upstream.CLIENT_ID,
                       "--device-client-id", DEVICE, "--interval", "1",
                       "--store", "sqlite://" + str(tmp_path / "proxy.sqlite3")] + list(args),
                      env={"DEVICEPROXY_CLIENT_SECRET": upstream.SECRET})
            started.append(p)
            return p

        def recorder(self, url):
            r = recproxy.RecordingProxy(url)
            started.append(r)
            return r

        def board(self, base_url, client_id=DEVICE):
            cfg = {"wifi": sim.WIFI, "hostname": "devicepair-sim", "provider": "proxy",
                   "base_url": base_url, "api_url": upstream.url + "/me",
                   "allow_insecure_http": True, "client_id": client_id}
            os.makedirs(self.flash, exist_ok=True)
            with open(os.path.join(self.flash, "config.json"), "w") as f:
                json.dump(cfg, f)
            s = sim.Simulator(mp, self.flash, self.out,
                              env={"DEVICEPAIR_SIM_WIFI": "ok,delay:200"})
            started.append(s)
            return s

    yield Stack()
    for s in reversed(started):
        s.stop()


def user_at_proxy(b, url, code, upstream="approve", timeout=30):
    """Type the OLED's code at the proxy, confirm, then sign in + consent at oidc-provider
    (or "cancel" there): the proxy's #result data-status, and what the confirm page showed."""
    seen = {}

    def step():
        if b.find("#result"):
            return b.attr(b.find("#result"), "data-status")
        if b.find("#continue"):
            b.type(b.find("#user_code"), code)
            b.click(b.find("#continue"))
        elif b.find("#approve"):
            seen["client_id"] = b.text(b.find("#client_id"))
            seen["warning"] = b.text(b.find("#warning"))
            b.click(b.find("#approve"))
        elif b.find("input[name=login]"):
            if upstream == "cancel":
                b.click(b.find("a[href*='/abort']"))
            else:
                b.type(b.find("input[name=login]"), "maker")
                b.type(b.find("input[name=password]"), "any")
                b.click(b.find("button[type=submit]"))
        elif b.find("button[type=submit]"):
            b.click(b.find("button[type=submit]"))  # oidc-provider's consent
        else:
            time.sleep(0.05)

    return e2e.drive(b, url, step, timeout), seen


def test_pair_through_the_proxy_deny_approve_refresh(stack, browser):
    px = stack.proxy()
    rec = stack.recorder(px.url)
    board = stack.board(rec.url)
    # first attempt: the user cancels at the upstream's sign-in -> access_denied -> Denied
    url, code = start_pairing(board)
    assert url == px.url + "/device"
    status, seen = user_at_proxy(browser, url, code, upstream="cancel")
    assert status == "denied"
    assert seen["client_id"] == DEVICE and "in your hands" in seen["warning"]
    scr = wait_text(board, "Press to retry")
    assert "Denied" in scr.big()

    # second attempt: approved at the upstream; the board pairs and names the user
    board.press()
    url, code2 = pairing_page(board)
    assert code2 != code
    issued = rec.bodies("/device/code", 200)
    assert [i["user_code"] for i in issued] == [code, code2]
    assert e2e.wait_qr(board) == issued[1]["verification_uri_complete"]
    # another client polling this code is refused, and the board is not disturbed
    assert poll(px.url, issued[1]["device_code"], "someone-else")[1]["error"] == \
        "invalid_client"
    status, _ = user_at_proxy(browser, url, code2)
    assert status == "approved"
    scr = wait_text(board, "as Upstream User", 20)
    assert "Paired" in scr.big()
    stored = json.load(open(os.path.join(stack.flash, "tokens.json")))
    assert stored["access_token"] and stored["refresh_token"]

    # the used code is gone
    assert poll(px.url, issued[1]["device_code"], DEVICE)[1]["error"] == "invalid_grant"
    # the 125 s token is refreshed through the proxy's /device/token
    board.wait_for(r"token refreshed$", 20)
    assert px.events("refreshed")
    stored = json.load(open(os.path.join(stack.flash, "tokens.json")))["access_token"]
    refreshed = [b for b in rec.bodies("/device/token", 200) if b and "access_token" in b]
    assert len(refreshed) >= 2 and refreshed[-1]["access_token"] != refreshed[0]["access_token"]
    # what is on flash is a refreshed token (the board may have refreshed again meanwhile:
    # a 125 s token inside the 120 s margin is refreshed every few seconds)
    assert stored in [b["access_token"] for b in refreshed[1:]]
    assert NodeUpstream.SECRET not in px.log()


def test_code_expires_at_the_proxy(stack):
    px = stack.proxy("--expires-in", "10")
    board = stack.board(px.url)
    start_pairing(board)
    scr = wait_text(board, "Code expired", 25)
    assert "Expired" in scr.big()
    assert not os.path.exists(os.path.join(stack.flash, "tokens.json"))


def test_unknown_client_id_is_shown(stack):
    px = stack.proxy()
    board = stack.board(px.url, client_id="not-registered")
    wait_text(board, "Press button to", 20)
    board.press()
    board.wait_for(r"error: .*invalid_client", 15)
    assert not px.events("device_code")
