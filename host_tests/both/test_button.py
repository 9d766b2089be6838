"""Button gestures, debounce and the irq latch, on a FakeClock (CPython and MicroPython)."""

from devicepair.button import BootselPin, Button
from fakeclock import FakeClock
from fakehw import FakePin, advance


def run(clk, pin, b, ms, every=10):
    """Poll every ``every`` ms for ``ms``; return [(elapsed ms, event)]."""
    out = []
    for _ in range(ms // every):
        advance(clk, every, pin)
        ev = b.poll()
        if ev is not None:
            out.append((clk.elapsed_ms, ev))
    return out


def setup(**kw):
    clk = FakeClock()
    pin = FakePin(clk, level=kw.pop("level", 1))
    return clk, pin, Button(pin, clk, **kw)


def test_clean_short_without_double_reports_on_release():
    clk, pin, b = setup(double=False)
    pin.script([(5, 0), (105, 1)])
    # seen pressed at 10, stable at 40; seen released at 110, stable at 140
    assert run(clk, pin, b, 1000) == [(140, "short")]


def test_clean_short_with_double_waits_for_the_window():
    clk, pin, b = setup()
    pin.script([(5, 0), (105, 1)])
    # released at 110, window of 350 ms passed at the poll at 470
    assert run(clk, pin, b, 1000) == [(470, "short")]


def test_bouncy_press_and_release_give_one_event():
    for irq in (False, True):
        for every in (3, 10, 20):
            clk, pin, b = setup(double=False, use_irq=irq)
            pin.bouncy_press(200, bounces=5, bounce_ms=1, at=5)  # 10 edges in 10 ms, twice
            evs = run(clk, pin, b, 1200, every)
            assert [e for _, e in evs] == ["short"], (irq, every, evs)
            assert not b.pressed


def test_bounces_restart_the_debounce_wait_in_irq_mode():
    # Polls at 10 ms read the same level either side of a bounce; only the irq sees it.
    clk, pin, b = setup(use_irq=True)
    pin.script([(5, 0), (12, 1), (13, 0), (32, 1), (33, 0)])
    advance(clk, 10, pin)
    b.poll()
    run(clk, pin, b, 30)  # polls at 20, 30, 40: edges at 12/13 and 32/33 restart the wait
    assert not b.pressed
    run(clk, pin, b, 30)  # quiet since the poll at 40
    assert b.pressed
    assert pin.irqs == 5
    clk, pin, b = setup()  # polling alone misses those bounces and accepts the press at 40
    pin.script([(5, 0), (12, 1), (13, 0), (32, 1), (33, 0)])
    run(clk, pin, b, 40)
    assert b.pressed


def test_glitch_shorter_than_debounce_gives_nothing():
    for irq in (False, True):
        clk, pin, b = setup(use_irq=irq)
        pin.script([(5, 0), (25, 1), (300, 0), (303, 1)])  # 20 ms and 3 ms glitches
        assert run(clk, pin, b, 1500) == []
        assert b.held_ms() == 0


def test_long_fires_once_at_long_ms_while_held():
    clk, pin, b = setup()
    pin.script([(10, 0)])
    evs = run(clk, pin, b, 3000)  # up to 3000: press seen at 10, so long due at 3010
    assert evs == []
    assert b.pressed and b.held_ms() == 2990
    assert run(clk, pin, b, 10) == [(3010, "long")]
    assert run(clk, pin, b, 2000) == []  # still held: once only
    assert b.held_ms() == 5000
    pin.script([(0, 1)])
    assert run(clk, pin, b, 1000) == []  # the release after a long press gives nothing
    assert not b.pressed and b.held_ms() == 0


def test_long_ms_is_overridable_per_instance():
    clk, pin, b = setup(long_ms=1000, debounce_ms=20, double_ms=200)
    assert Button.long_ms == 3000 and Button.debounce_ms == 30 and Button.double_ms == 350
    pin.script([(10, 0), (1500, 1)])
    assert run(clk, pin, b, 2000) == [(1010, "long")]


def test_held_ms_progress():
    clk, pin, b = setup()
    assert b.held_ms() == 0
    pin.script([(10, 0)])
    run(clk, pin, b, 30)
    assert not b.pressed and b.held_ms() == 0  # not debounced yet
    run(clk, pin, b, 10)
    assert b.pressed and b.held_ms() == 30  # counted from the first pressed reading
    advance(clk, 5, pin)
    assert b.held_ms() == 35  # between polls too: for a progress bar


def test_double_within_window():
    clk, pin, b = setup()
    pin.script([(5, 0), (105, 1), (195, 0), (295, 1)])
    # released at 110; second press seen at 200 (gap 90); its release stable at 330
    assert run(clk, pin, b, 1500) == [(330, "double")]


def test_second_press_started_inside_window_counts_even_if_confirmed_later():
    clk, pin, b = setup()
    pin.script([(5, 0), (105, 1), (455, 0), (555, 1)])
    # released at 110, second press read at 460 (gap 350 = window), confirmed at 490
    assert run(clk, pin, b, 1500) == [(590, "double")]


def test_two_presses_slower_than_window_are_two_shorts():
    clk, pin, b = setup()
    pin.script([(5, 0), (105, 1), (595, 0), (695, 1)])
    assert run(clk, pin, b, 1500) == [(470, "short"), (1060, "short")]


def test_click_then_hold_is_just_long():
    clk, pin, b = setup()
    pin.script([(5, 0), (105, 1), (195, 0), (4000, 1)])
    assert run(clk, pin, b, 5000) == [(3200, "long")]


def test_irq_latches_a_press_between_slow_polls():
    # A 40 ms tap while the app polls every 100 ms. Polling alone never sees it (missed);
    # the irq latch reports it as a short once the release has been quiet for debounce_ms.
    # Either phase: wholly between two polls, or straddling one.
    for script, t_short in (([(130, 0), (170, 1)], 300), ([(180, 0), (220, 1)], 400)):
        clk, pin, b = setup(double=False)
        pin.script(script)
        assert run(clk, pin, b, 1000, every=100) == []
        clk, pin, b = setup(double=False, use_irq=True)
        pin.script(script)
        assert run(clk, pin, b, 1000, every=100) == [(t_short, "short")]
        assert b.held_ms() == 0
    # with the double window on, the short waits for it (from the poll that saw the edge)
    clk, pin, b = setup(use_irq=True)
    pin.script([(130, 0), (170, 1)])
    assert run(clk, pin, b, 1000, every=100) == [(600, "short")]


def test_irq_two_quick_taps_between_slow_polls_are_a_double():
    clk, pin, b = setup(use_irq=True)
    pin.script([(130, 0), (170, 1), (330, 0), (370, 1)])
    assert run(clk, pin, b, 1500, every=100) == [(500, "double")]


def test_irq_bouncy_press_with_slow_polls_gives_one_long():
    clk, pin, b = setup(use_irq=True)
    # a poll at 100 lands mid-bounce reading "released": not a tap, the press follows
    pin.bouncy_press(5000, bounces=5, bounce_ms=2, at=95)
    evs = run(clk, pin, b, 6000, every=100)
    assert [e for _, e in evs] == ["long"], evs


def test_irq_registration_and_close():
    clk = FakeClock()
    pin = FakePin(clk)
    b = Button(pin, clk, use_irq=True)
    assert pin._trigger == FakePin.IRQ_RISING | FakePin.IRQ_FALLING
    b.close()
    assert pin._handler is None


def test_wraparound_of_ticks_mid_press():
    clk = FakeClock(start=(1 << 30) - 1500)
    pin = FakePin(clk)
    b = Button(pin, clk)
    pin.script([(10, 0), (3500, 1)])
    evs = run(clk, pin, b, 2000)
    assert clk.ticks_ms() < 1000  # wrapped while held
    assert evs == [] and b.held_ms() == 1990
    assert run(clk, pin, b, 3000) == [(3010, "long")]


def test_wraparound_inside_double_window():
    clk = FakeClock(start=(1 << 30) - 200)
    pin = FakePin(clk)
    b = Button(pin, clk)
    pin.script([(5, 0), (105, 1), (195, 0), (295, 1)])
    assert run(clk, pin, b, 1000) == [(330, "double")]


def test_held_at_boot_becomes_a_long_press():
    clk, pin, b = setup(level=0)
    assert run(clk, pin, b, 3100) == [(3010, "long")]


def test_active_high():
    clk, pin, b = setup(level=0, active_low=False, double=False)
    pin.script([(5, 1), (105, 0)])
    assert run(clk, pin, b, 500) == [(140, "short")]


def test_bootsel_pin():
    state = [0]
    bp = BootselPin(lambda: state[0])
    assert bp.value() == 1
    state[0] = 1
    assert bp.value() == 0
    state[0] = False
    clk = FakeClock()
    b = Button(bp, clk, double=False)
    evs = []
    for i in range(30):
        state[0] = 1 if 2 <= i < 10 else 0
        clk.advance(20)
        ev = b.poll()
        if ev:
            evs.append(ev)
    assert evs == ["short"]
    try:
        Button(bp, clk, use_irq=True)
    except ValueError:
        pass
    else:
        assert False, "BootselPin has no irq"
