"""The worked examples (firmware/examples) in the simulator: the real firmware under
MicroPython with the example copied to its flash as the task (``make sim SIM_ARGS="--task
post_reading"``), against the local authorization server, which approves by itself. What a
user sees is checked on the serial console and on the server: the readings arrive under the
paired user's token, the userinfo value is shown, and a revoked sign-in ends in "press to
pair", after which the next pairing sends what was queued."""

import importlib.util
import json
import os
import urllib.parse
import urllib.request

import pytest

from conftest import ROOT

_spec = importlib.util.spec_from_file_location("devicepair_tools_sim_ex",
                                               os.path.join(ROOT, "tools", "sim.py"))
sim = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sim)


@pytest.fixture(scope="module")
def mp(tmp_path_factory):
    return sim.build_mp(str(tmp_path_factory.mktemp("mp")))


@pytest.fixture
def run_example(tmp_path, mp):
    started = []

    def start(name, *server_args):
        flash = str(tmp_path / "flash")
        os.makedirs(flash, exist_ok=True)
        srv = sim.AuthServer(str(tmp_path / "auth.sqlite3"),
                             ("--interval", "1", "--auto-approve", "1") + server_args)
        started.append(srv)
        sim.write_config(flash, srv.url, **sim.task_config(name, srv.url, flash))
        board = sim.Simulator(mp, flash, str(tmp_path / "out"),
                              env={"DEVICEPAIR_SIM_WIFI": "ok,delay:100"})
        started.append(board)
        board.wait_for(r"Press button to pair$", 30)
        board.press()
        board.wait_for(r"paired as Demo User$", 30)
        return srv, board, flash

    yield start
    for s in reversed(started):
        s.stop()


def _tokens(flash):
    with open(os.path.join(flash, "tokens.json")) as f:
        return json.load(f)


def _readings(srv, flash):
    req = urllib.request.Request(srv.url + "/api/readings", headers={
        "Authorization": "Bearer " + _tokens(flash)["access_token"]})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())["readings"]


def _post_form(url, fields):
    req = urllib.request.Request(url, urllib.parse.urlencode(fields).encode())
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status


def test_post_reading_in_the_simulator(run_example):
    srv, board, flash = run_example("post_reading")
    board.wait_for(r"Posted [0-9.]+ C$", 30)
    got = _readings(srv, flash)
    assert got and got[0]["sensor"] == "chip_temp" and isinstance(got[0]["value"], float)


def test_show_value_in_the_simulator(run_example):
    srv, board, flash = run_example("show_value")
    board.wait_for(r"Login: demo$", 30)


def test_survive_revoke_in_the_simulator(run_example):
    srv, board, flash = run_example("survive_revoke")
    board.wait_for(r"Sent reading 1$", 30)
    t = _tokens(flash)
    for kind in ("access_token", "refresh_token"):  # the user removes the device
        assert _post_form(srv.url + "/revoke", {"token": t[kind], "token_type_hint": kind,
                                                "client_id": sim.CLIENT_ID}) == 200
    board.wait_for(r"unpaired: Sign-in expired$", 30)
    board.wait_for(r"\[task\] unpaired: [1-9]\d* readings wait for the next pairing$", 5)
    assert not os.path.exists(os.path.join(flash, "tokens.json"))
    n = len(board.lines)
    board.press()
    board.wait_for(r"paired as Demo User$", 30, start=n)
    board.wait_for(r"Sent reading \d+$", 30, start=n)
    values = [r["value"] for r in _readings(srv, flash)]
    assert values == list(range(1, len(values) + 1)), values  # none lost, none twice
