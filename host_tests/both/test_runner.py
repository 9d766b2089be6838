"""The firmware's outer loop: crashes restart the app after a growing pause (both)."""

from fakeclock import FakeClock
from devicepair import runner
from devicepair.errors import ConfigError


class StepApp:
    def __init__(self, clock, crash_after=None):
        self.clock = clock
        self.steps = 0
        self.crash_after = crash_after

    def step(self):
        self.steps += 1
        if self.crash_after is not None and self.steps > self.crash_after:
            raise MemoryError("memory allocation failed")
        return 25


def test_crashes_back_off_and_reload():
    clock = FakeClock()
    made, logged, shown = [], [], []

    def make():
        made.append(clock.elapsed_ms)
        if len(made) <= 2:
            raise ConfigError("client_id", "is missing")
        return StepApp(clock, crash_after=3 if len(made) == 3 else None)

    crashes = runner.run(make, clock, logged.append, shown.append, max_steps=30)
    assert crashes == 3
    # builds at 0 s, then after pauses of 1 s, 2 s, then (after 3 steps of 25 ms) 4 s
    assert made == [0, 1000, 3000, 7075]
    assert shown[:2] == ["config: client_id is missing"] * 2
    assert shown[2] == "MemoryError: memory allocation failed"
    assert logged[0] == "crash #1: config: client_id is missing; restarting in 1 s"


def test_backoff_is_capped_at_a_minute():
    clock = FakeClock()

    def make():
        raise ValueError("boom")
    runner.run(make, clock, lambda m: None, None, max_steps=12)
    # 1+2+4+8+16+32 s, then 60 s each: never a tight loop
    assert clock.elapsed_ms == (1 + 2 + 4 + 8 + 16 + 32 + 60 * 6) * 1000


def test_a_failing_crash_screen_does_not_stop_the_restart():
    clock = FakeClock()
    calls = []

    def bad_screen(msg):
        raise OSError(5)

    def make():
        calls.append(1)
        if len(calls) == 1:
            raise ValueError("x")
        return StepApp(clock)
    runner.run(make, clock, lambda m: None, bad_screen, max_steps=5)
    assert len(calls) == 2
