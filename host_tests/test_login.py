"""``make login``: the board's App, Session and device flow under CPython on a laptop, against
the local authorization server (which approves by itself): the code and the QR on the
terminal, "paired as", an API call with the session - and never a token in the output."""

import importlib.util
import json
import os
import subprocess
import sys

from conftest import ROOT

_spec = importlib.util.spec_from_file_location("devicepair_tools_sim_login",
                                               os.path.join(ROOT, "tools", "sim.py"))
sim = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sim)


def _login(tmp_path, srv, *args, **cfg):
    conf = str(tmp_path / "config.json")
    c = sim.write_config(str(tmp_path), srv.url, **cfg)
    with open(conf, "w") as f:
        json.dump(c, f)
    tokens = str(tmp_path / "tokens.json")
    p = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "login.py"), "--config",
                        conf, "--tokens", tokens, "--timeout", "30"] + list(args),
                       capture_output=True, text=True, timeout=60)
    return p, tokens


def test_login_pairs_and_calls_the_api(tmp_path):
    srv = sim.AuthServer(str(tmp_path / "a.sqlite3"), ("--interval", "1", "--auto-approve", "1"))
    try:
        p, tokens = _login(tmp_path, srv, "--get", srv.url + "/userinfo")
    finally:
        srv.stop()
    out = p.stdout + p.stderr
    assert p.returncode == 0, out
    assert "and enter the code " in out and "█" in out  # the code and the QR as text
    assert "login: paired as Demo User with client devicepair-sim" in out
    assert "login: GET %s/userinfo -> HTTP 200" % srv.url in out and '"demo"' in out
    t = json.load(open(tokens))
    assert t["access_token"] not in out and t["refresh_token"] not in out


def test_login_says_why_a_bad_client_fails(tmp_path):
    srv = sim.AuthServer(str(tmp_path / "a.sqlite3"), ("--interval", "1",))
    try:
        p, _ = _login(tmp_path, srv, client_id="no-such-client")
    finally:
        srv.stop()
    assert p.returncode == 1
    assert "login: failed - invalid_client: The client does not exist" in p.stdout, p.stdout


def test_login_refuses_a_broken_config(tmp_path):
    bad = tmp_path / "config.json"
    bad.write_text('{"wifi": []')
    p = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "login.py"), "--config",
                        str(bad)], capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and "is not valid JSON" in p.stdout
