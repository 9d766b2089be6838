"""The three worked examples in firmware/examples, each run as the board's task by the real
App (both interpreters): post a reading with the bearer token; show a value from the
provider's own API (Microsoft Graph /me through the Entra fake) on the screen; and keep
working through a revoked sign-in - "press to pair", then the queued readings go out after
the next pairing. The simulator runs them too (host_tests/test_examples_sim.py)."""

# The whole app, the provider presets, Entra-sized tokens, and this module: as
# test_providers_app.
MP_HEAP = "176K"

import gc
import json

from fakectl import ctl, transport, url
from fakeclock import FakeClock
from fakefs import FakeFS
from appfakes import RecordingScreen, ScriptedButton
from appfakes import run_app as _run
from scripting import script, pending, device_response, token_response, requests_seen
from flowkit import client
from devicepair import app as A
from devicepair import providers as P
from devicepair.config import Config
from devicepair.session import Session
from devicepair.task import TaskRunner
from devicepair.tokens import TokenStore

import post_reading
import show_value
import survive_revoke

ME = {"json": {"sub": "u1", "name": "Ada Lovelace"}, "repeat": 5}


def _app(task, args, session):
    task.setup(args)
    screen = RecordingScreen()
    runner = TaskRunner(task, session, screen, session.clock)
    return A.App(screen, session.clock, session, button=ScriptedButton(), task=runner,
                 ntp_host="127.0.0.1")


def _scripted(base, **kw):
    clock = FakeClock(unix=1795435200)
    return Session(TokenStore("tokens.json", FakeFS(), clock), transport(),
                   client(base, whoami_url=base + "/me", **kw), clock)


def _pair(a):
    _run(a, lambda a: a.state == A.IDLE)
    a.button.press()
    _run(a, lambda a: a.state == A.PAIRED)


def _posted(base):
    return [json.loads(x["body"]) for x in requests_seen(base) if x["path"].endswith("/api")]


def test_post_reading_posts_with_the_bearer_token_every_every_s():
    base = script({"/device": [device_response()], "/token": [pending(1), token_response()],
                   "/me": [ME], "/api": [{"status": 201, "json": {"ok": True}, "repeat": 5}]})
    a = _app(post_reading, {"url": base + "/api", "every_s": 15}, _scripted(base))
    _pair(a)
    _run(a, lambda a: len(_posted(base)) == 2)
    seen = [x for x in requests_seen(base) if x["path"].endswith("/api")]
    assert seen[0]["headers"]["authorization"] == "Bearer at-" + "a" * 40
    assert [p["sensor"] for p in _posted(base)] == ["chip_temp", "chip_temp"]
    assert isinstance(_posted(base)[0]["value"], float)
    assert a.screen.last[0] == "status" and a.screen.last[1].startswith("Posted ")
    assert post_reading.every_s == 15


def test_show_value_shows_graph_me_from_the_entra_fake():
    gc.collect()
    c = Config.from_dict({"wifi": [{"ssid": "home", "password": "secret123"}],
                          "allow_insecure_http": True, "provider": "entra",
                          "base_url": url("entra"), "tenant": "contoso.onmicrosoft.com",
                          "client_id": "00000000-0000-0000-0000-00000000c1d0"})
    clock = FakeClock(unix=1795435200)
    cl = P.resolve(c)
    s = Session(TokenStore("tokens.json", FakeFS(), clock), transport(), cl, clock)
    a = _app(show_value, {"url": cl.whoami_url, "field": "jobTitle", "label": "Job"}, s)
    _run(a, lambda a: a.state == A.IDLE)
    a.button.press()
    _run(a, lambda a: a.state == A.POLLING)
    ctl("entra", "approve", user_code=a.flow.user_code)
    _run(a, lambda a: a.screen.last == ("status", "Job: Retail Manager"))
    assert a.session.name == "Adele Vance"


def test_survive_revoke_shows_press_to_pair_and_sends_the_queue_after_pairing_again():
    base = script({"/device": [device_response(), device_response(user_code="CDFG-HJKL")],
                   "/token": [token_response(access_token="at-1"),
                              {"status": 400, "json": {"error": "invalid_grant"}},
                              token_response(access_token="at-2")],
                   "/me": [ME],
                   "/api": [{"status": 201, "json": {}}, {"status": 401, "body": ""},
                            {"status": 201, "json": {}, "repeat": 5}]})
    survive_revoke.queue[:] = []
    survive_revoke._n[0] = 0
    a = _app(survive_revoke, {"url": base + "/api"}, _scripted(base))
    _pair(a)
    _run(a, lambda a: a.state == A.IDLE)  # reading 1 sent; reading 2 met the revoked sign-in
    assert a.screen.last == ("error", "Sign-in expired - press to pair")
    assert [r["value"] for r in survive_revoke.queue] == [2]
    a.button.press()
    _run(a, lambda a: a.state == A.PAIRED)
    _run(a, lambda a: not survive_revoke.queue and len(_posted(base)) == 4)
    assert [p["value"] for p in _posted(base)] == [1, 2, 2, 3]  # 2 again: the 401 lost it
    auths = [x["headers"]["authorization"] for x in requests_seen(base)
             if x["path"].endswith("/api")]
    assert auths == ["Bearer at-1", "Bearer at-1", "Bearer at-2", "Bearer at-2"]


def test_examples_refuse_missing_task_args():
    for mod in (post_reading, show_value, survive_revoke):
        try:
            mod.setup({})
            assert False, mod
        except KeyError:
            pass
