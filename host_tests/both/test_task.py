"""Your code beside the pairing app (both interpreters): a task is called when paired, then
every ``every_s``; told when unpaired; a task that raises is logged and retried with a
growing pause while the button keeps working; a revoked refresh token met by the task ends in
"press to pair"; a task that overruns its budget is run less often; asyncio runs the app
beside a user coroutine that waits for "paired"."""

# The whole app, the task runner and asyncio plus this module and its fakes: the 64-bit
# unix port fragments at less.
MP_HEAP = "144K"

try:
    import asyncio
except ImportError:
    import uasyncio as asyncio

from fakeclock import FakeClock
from fakefs import FakeFS
from appfakes import RecordingScreen, ScriptedButton
from appfakes import run_app as _run
from scripting import script, transport, pending, device_response, token_response
from scripting import requests_seen
from flowkit import client
from devicepair import app as A
from devicepair.aio import Events, run_async
from devicepair.session import Session
from devicepair.task import TaskRunner
from devicepair.tokens import TokenStore

ME = {"json": {"sub": "u1", "name": "Ada Lovelace"}}


class Recorder:
    """A task as an object: records its calls; ``fail`` makes run() raise that many times."""

    every_s = 30

    def __init__(self, fail=0, take_ms=0):
        self.calls = []
        self.fail = fail
        self.take_ms = take_ms
        self.clock = None

    def paired(self, session, screen):
        self.calls.append(("paired", session.name, self.clock.ticks_ms()))

    def run(self, session, screen):
        self.calls.append(("run", self.clock.ticks_ms()))
        if self.take_ms:
            self.clock.advance(self.take_ms)
        if self.fail:
            self.fail -= 1
            raise ValueError("sensor not ready")
        screen.status("reading ok")

    def unpaired(self, session, screen):
        self.calls.append(("unpaired", session.paired))


def _app(base, task, logs=None, **kw):
    clock = FakeClock(unix=1795435200)
    task.clock = clock
    log = logs.append if logs is not None else None
    s = Session(TokenStore("tokens.json", FakeFS(), clock), transport(),
                client(base, whoami_url=base + "/me"), clock, log)
    screen = RecordingScreen()
    runner = TaskRunner(task, s, screen, clock, log, **kw)
    return A.App(screen, clock, s, button=ScriptedButton(), task=runner, log=log,
                 ntp_host="127.0.0.1")


def _pair(a):
    _run(a, lambda a: a.state == A.IDLE)
    a.button.press()
    _run(a, lambda a: a.state == A.PAIRED)


def _runs(task):
    return [c[1] for c in task.calls if c[0] == "run"]


def test_called_when_paired_then_every_every_s_and_told_when_unpaired():
    base = script({"/device": [device_response()], "/token": [pending(1), token_response()],
                   "/me": [ME]})
    t = Recorder()
    a = _app(base, t)
    _pair(a)
    assert t.calls[0][:2] == ("paired", "Ada Lovelace")
    t0 = t.calls[0][2]
    _run(a, lambda a: len(_runs(t)) == 3)
    assert [r - t0 for r in _runs(t)] == [30000, 60000, 90000]
    assert a.screen.last == ("status", "reading ok")
    a.button.press("long")
    _run(a, lambda a: a.state == A.CONFIRM)
    a.button.press()
    _run(a, lambda a: a.state == A.IDLE)
    assert t.calls[-1] == ("unpaired", False) and a.screen.last == ("unpaired",)
    n = len(t.calls)
    a.clock.advance(300000)
    _run(a, lambda a: True)
    for _ in range(20):
        a.clock.advance(max(1, a.step()))
    assert len(t.calls) == n  # nothing runs while unpaired


def test_a_task_that_raises_is_retried_with_backoff_and_the_button_still_works():
    base = script({"/device": [device_response()], "/token": [token_response()], "/me": [ME]})
    t = Recorder(fail=4)
    logs = []
    a = _app(base, t, logs)
    _pair(a)
    t0 = t.calls[0][2]
    _run(a, lambda a: len(_runs(t)) == 6)
    gaps = [b - c for b, c in zip(_runs(t), [t0] + _runs(t)[:-1])]
    assert gaps == [30000, 5000, 10000, 20000, 40000, 30000], gaps  # back to every_s
    fails = [m for m in logs if "failed" in m]
    assert len(fails) == 4 and "ValueError: sensor not ready" in fails[0]
    assert "again in 5 s" in fails[0] and "again in 40 s" in fails[3]
    assert a.state == A.PAIRED
    a.button.press("long")
    _run(a, lambda a: a.state == A.CONFIRM)


def test_revoked_refresh_token_in_the_task_means_press_to_pair():
    base = script({"/device": [device_response()],
                   "/token": [token_response(),
                              {"status": 400, "json": {"error": "invalid_grant"}}],
                   "/me": [ME], "/api": [{"status": 401, "body": ""}]})

    class Poster:
        every_s = 60
        clock = None
        seen = []

        def run(self, session, screen):
            self.seen.append(session.post(base + "/api", json={"t": 21.5}).status_code)

        def unpaired(self, session, screen):
            self.seen.append("unpaired")

    t = Poster()
    a = _app(base, t)
    _pair(a)
    _run(a, lambda a: a.state == A.IDLE)
    assert a.screen.last == ("error", "Sign-in expired - press to pair")
    assert t.seen == ["unpaired"] and a.session.store.load() is None
    paths = [x["path"].rsplit("/", 1)[1] for x in requests_seen(base)]
    assert paths[-2:] == ["api", "token"]  # the 401, then the refused refresh


def test_a_task_over_its_budget_is_run_less_often():
    base = script({"/device": [device_response()], "/token": [token_response()], "/me": [ME]})
    t = Recorder(take_ms=4000)
    logs = []
    a = _app(base, t, logs, budget_ms=1000)
    _pair(a)
    _run(a, lambda a: len(_runs(t)) == 2)
    r = _runs(t)
    assert r[1] - r[0] == 4000 + 30000  # 3 s over: next call waits 30 s (10x) at least
    assert [m for m in logs if "took 4000 ms (budget 1000 ms)" in m]


def test_asyncio_runs_the_app_beside_a_user_coroutine():
    base = script({"/device": [device_response(interval=5)],
                   "/token": [pending(2), token_response()], "/me": [ME],
                   "/api": [{"json": {"value": 42}}]})
    clock = FakeClock(unix=1795435200)
    s = Session(TokenStore("tokens.json", FakeFS(), clock), transport(),
                client(base, whoami_url=base + "/me"), clock)
    a = A.App(RecordingScreen(), clock, s, button=ScriptedButton(), ntp_host="127.0.0.1")
    events = Events(a)
    seen = []

    async def user_code():
        seen.append(("unpaired set", events.unpaired.is_set()))
        await events.paired.wait()
        seen.append(("paired", a.session.name))
        seen.append(("api", a.session.get(base + "/api").json()["value"]))

    async def time_passes():  # the fake clock moves half a second per turn of the loop
        for _ in range(400):
            if a.state == A.IDLE and not a.button.events and not seen[1:]:
                a.button.press()
            clock.advance(500)
            await asyncio.sleep(0.001)
            if len(seen) == 3:
                return

    async def main():
        asyncio.create_task(user_code())
        app_task = asyncio.create_task(run_async(a))
        await time_passes()
        app_task.cancel()

    asyncio.run(main())
    assert seen == [("unpaired set", True), ("paired", "Ada Lovelace"), ("api", 42)], seen
    assert events.paired.is_set() and not events.unpaired.is_set()
