"""The one button: debounced short, long and double presses, read without blocking.

The board has a single button, so one gesture set must cover "show code", "retry" and "hold to
unpair". ``Button.poll()`` is called once per app step (every ~20-50 ms) and returns at most
one event: ``None``, ``"short"``, ``"long"`` or ``"double"``. Nothing here sleeps or loops.

Debounce: a level counts once it has been read unchanged for ``debounce_ms`` (as seen by
the polls; with ``use_irq`` any edge in between restarts that wait, so bounces the polls did
not see are caught too). ``"long"`` fires once, while still held, when the press reaches
``long_ms``; its release gives nothing. With ``double`` on, a short press waits ``double_ms``
after its release for a second one (then ``"double"``, no ``"short"``); a click followed by a
press held to ``long_ms`` gives only ``"long"``.

Presses shorter than the gap between polls: with pure polling they are missed (they need to
be read at polls ``debounce_ms`` apart). With ``use_irq=True`` the pin interrupt latches that
an edge happened; when a press came and went while the polls were more than ``debounce_ms``
apart (so their readings cannot tell a tap from a glitch), it is reported as a short press
once the button has been read released and quiet for ``debounce_ms``. When the polls are
closer than ``debounce_ms`` such a pulse is provably shorter than ``debounce_ms`` and is
ignored as a glitch. Its length is unknown, so ``held_ms()`` stays 0 for it.

Pattern after Peter Hinch's micropython-async ``Pushbutton`` (duck-typed pin, timings as class
attributes), rewritten tick-driven. Ticks are compared with ``clock.ticks_diff`` only.
"""


class Button:
    debounce_ms = 30
    long_ms = 3000
    double_ms = 350

    def __init__(self, pin, clock, active_low=True, use_irq=False, double=True,
                 debounce_ms=None, long_ms=None, double_ms=None):
        if debounce_ms is not None:
            self.debounce_ms = debounce_ms
        if long_ms is not None:
            self.long_ms = long_ms
        if double_ms is not None:
            self.double_ms = double_ms
        self._pin = pin
        self._clock = clock
        self._active = 0 if active_low else 1
        self._double = double
        now = clock.ticks_ms()
        self._raw = False  # last level read (True = pressed); starts released
        self._since = now  # the level has been unchanged since (as far as we know)
        self._last = now  # time of the previous poll
        self._pressed = False  # debounced
        self._press_t = now
        self._long_done = False
        self._clicks = 0  # 1 while a short press waits for the double window
        self._up_t = now  # release time of that press
        self._tap = False  # irq: a too-quick press waiting for a quiet release
        self._tap_t = now
        self._edge = 0  # set by the interrupt handler
        self._irq = use_irq
        if use_irq:
            if not hasattr(pin, "irq"):
                raise ValueError("pin has no irq(): use polling")
            pin.irq(handler=self._on_edge, trigger=pin.IRQ_RISING | pin.IRQ_FALLING)

    def _on_edge(self, pin):
        # Runs in interrupt context: no allocation, just latch.
        self._edge = 1

    def close(self):
        """Detach the interrupt handler (irq mode)."""
        if self._irq:
            self._pin.irq(handler=None)
            self._irq = False

    @property
    def pressed(self):
        return self._pressed

    def held_ms(self):
        """How long the current (debounced) press has lasted, 0 when released."""
        if not self._pressed:
            return 0
        d = self._clock.ticks_diff(self._clock.ticks_ms(), self._press_t)
        return max(0, d)

    def poll(self):
        """Read the pin once; return None, "short", "long" or "double"."""
        clock = self._clock
        diff = clock.ticks_diff
        now = clock.ticks_ms()
        edge = self._edge
        self._edge = 0
        raw = self._pin.value() == self._active
        ev = None
        if edge or raw != self._raw:
            # A press began and ended since the polls last saw the button idle, and the
            # polls are too far apart to judge it: count it once the release is quiet.
            if (self._irq and not raw and not self._pressed and (edge or self._raw)
                    and diff(now, self._last) > self.debounce_ms):
                if not self._tap:
                    self._tap_t = now
                self._tap = True
            self._raw = raw
            self._since = now
        elif raw != self._pressed:
            if diff(now, self._since) >= self.debounce_ms:
                self._pressed = raw
                if raw:
                    self._press_t = self._since
                    self._long_done = False
                    self._tap = False  # it was the bounce at the start of this press
                elif not self._long_done:
                    ev = self._click(self._press_t, self._since)
        elif self._tap and not raw and diff(now, self._since) >= self.debounce_ms:
            self._tap = False
            ev = self._click(self._tap_t, self._tap_t)
        self._last = now
        if ev is not None:
            return ev
        if self._pressed:
            if not self._long_done and diff(now, self._press_t) >= self.long_ms:
                self._long_done = True
                self._clicks = 0
                return "long"
        elif self._clicks and diff(now, self._up_t) > self.double_ms:
            # A second press already under way inside the window keeps the first waiting.
            if self._raw and diff(self._since, self._up_t) <= self.double_ms:
                return None
            if self._tap and diff(self._tap_t, self._up_t) <= self.double_ms:
                return None
            self._clicks = 0
            return "short"
        return None

    def _click(self, down, up):
        # A short press went down at ``down`` and up at ``up``: event now, or wait.
        if not self._double:
            return "short"
        if self._clicks and self._clock.ticks_diff(down, self._up_t) <= self.double_ms:
            self._clicks = 0
            return "double"
        ev = "short" if self._clicks else None  # an expired first click not yet reported
        self._clicks = 1
        self._up_t = up
        return ev


class BootselPin:
    """The Pico's BOOTSEL button as a pin: ``BootselPin(rp2.bootsel_button)``.

    ``value()`` follows the active-low convention (0 while pressed) so
    ``Button(BootselPin(...), clock)`` works with the defaults. Polling only: BOOTSEL has no
    interrupt, so there is no ``irq()`` and ``Button(..., use_irq=True)`` raises ValueError.
    Each read briefly stalls flash access on the RP2040; a poll every 20-50 ms is fine.
    """

    def __init__(self, read):
        self._read = read

    def value(self):
        return 0 if self._read() else 1
