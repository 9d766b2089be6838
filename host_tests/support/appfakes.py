"""Small fakes for driving the app on both interpreters: a screen that records what it was
asked to show, a button that replays scripted events, a Wi-Fi link that can drop; and
``run_app``, which steps an App on its fake clock until a condition holds."""

from devicepair.screen import Screen


def run_app(a, until, max_ms=2000000):
    """Step ``a`` (its clock a FakeClock), advancing the clock by each wait, until ``until(a)``;
    AssertionError with the state and last screen after ``max_ms`` of fake time."""
    from devicepair.app import TICK_MS

    for _ in range(max_ms // TICK_MS):
        if until(a):
            return
        a.clock.advance(max(1, a.step()))
    raise AssertionError("stuck in %s; last screens %r" % (a.state, a.screen.calls[-4:]))


class RecordingScreen(Screen):
    """Records full-screen calls as (method, args) in ``calls``; small updates (countdown,
    tick, notes, progress) only keep their latest arguments in ``latest``: bounded memory.
    It is a devicepair.screen.Screen recording what each method forwards (trailing None
    arguments left out), so a call to a method the base lacks fails (AttributeError) as it
    would on a board."""

    FULL = ("booting", "status", "idle", "pairing", "approved", "paired", "denied", "expired",
            "error", "unpair_confirm", "unpaired")

    def __init__(self):
        self.calls = []
        self.latest = {}

    def _forward(self, name, *args):
        while args and args[-1] is None:  # defaults left out: idle() records ("idle",)
            args = args[:-1]
        if name in RecordingScreen.FULL:
            self.calls.append((name,) + args)
        else:
            self.latest[name] = (name,) + args
        return False

    @property
    def last(self):
        return self.calls[-1] if self.calls else None

    def shown(self, name):
        if name in self.latest:
            return [self.latest[name]]
        return [c for c in self.calls if c[0] == name]


class ScriptedButton:
    long_ms = 3000

    def __init__(self):
        self.events = []
        self.pressed = False
        self._held = 0

    def press(self, kind="short"):
        self.events.append(kind)

    def poll(self):
        return self.events.pop(0) if self.events else None

    def held_ms(self):
        return self._held if self.pressed else 0


class FakeLink:
    """Stands in for lib/devicepair/wifi.WiFi: ``connected`` is set by the test."""

    def __init__(self, connected=True):
        self.connected = connected
        self.steps = 0

    def step(self):
        self.steps += 1
        return 100


class FakeLED:
    def __init__(self):
        self.v = 0
        self.changes = 0

    def value(self, v=None):
        if v is None:
            return self.v
        if v != self.v:
            self.changes += 1
        self.v = v
