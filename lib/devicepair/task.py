"""Your code beside the pairing app: called when paired, every ``every_s`` seconds, and
told when the board is unpaired - and never able to take the pairing UI down.

A task is any module or object with some of these (all optional)::

    every_s = 60                      # how often run() is called while paired
    def setup(args): ...              # once at boot: config.json's "task_args" (a dict)
    def paired(session, screen): ...  # once, each time the board becomes paired
    def run(session, screen): ...     # then every every_s seconds while paired
    def unpaired(session, screen): ...  # the board was unpaired (or its sign-in expired)

``session`` is the app's ``session.Session`` (``session.get(url)``, ``session.post(url,
json=...)`` with a fresh bearer token); ``screen`` is the app's screen (``screen.show(title,
text)`` draws on the OLED and prints to serial). One call runs between two button polls, so
keep each call short: one request, no ``sleep``. The budget (``budget_ms``, 2 s by default)
cannot interrupt a call, but a call that overruns it is logged and the task is run less often
(its next call waits ten times the overrun). A task that raises is logged and called again
after a pause that doubles (5 s up to 5 min) and resets after a call that succeeds; a
``PairingRequired`` from the session means the refresh token is gone: the app shows
"press to pair" and calls ``unpaired``.
"""

import gc
import sys

from .errors import DevicePairError, PairingRequired

EVERY_S = 60
BUDGET_MS = 2000
BACKOFF_MS = 5000
BACKOFF_MAX_MS = 300000


def load(name):
    """The task module named in config.json (``"task": "my_task"`` -> my_task.py), or
    ImportError naming it."""
    mod = __import__(name)
    for part in name.split(".")[1:]:
        mod = getattr(mod, part)
    return mod


class TaskRunner:
    """Runs ``task`` for the app: ``event("paired"|"unpaired")`` and ``step()``."""

    def __init__(self, task, session, screen, clock, log=None, every_s=None,
                 budget_ms=BUDGET_MS):
        self.task = task
        self.session = session
        self.screen = screen
        self.clock = clock
        self.log = log or (lambda msg: None)
        every = every_s or getattr(task, "every_s", None) or getattr(task, "EVERY_S", None)
        self.every_ms = int((every or EVERY_S) * 1000)
        self.budget_ms = budget_ms
        self.active = False
        self.failures = 0
        self.calls = 0
        self.last_error = None
        self._next = None

    def _name(self):
        return getattr(self.task, "__name__", None) or type(self.task).__name__

    def event(self, what):
        """The app says the board became ``"paired"`` or ``"unpaired"``."""
        if what == "paired":
            self.active = True
            self.failures = 0
            self._next = self.clock.ticks_ms()
            self._call("paired")
        elif what == "unpaired" and self.active:
            self.active = False
            self._call("unpaired")

    def due(self):
        c = self.clock
        return self.active and self._next is not None and \
            c.ticks_diff(c.ticks_ms(), self._next) >= 0

    def step(self):
        """Run the task's ``run`` if it is due; True when it ran."""
        if not self.due():
            return False
        self._call("run")
        return True

    def _call(self, what):
        fn = getattr(self.task, what, None)
        c = self.clock
        if fn is None:
            if what == "run":
                self._next = c.ticks_add(c.ticks_ms(), self.every_ms)
            return
        started = c.ticks_ms()
        delay = self.every_ms
        try:
            self.calls += 1
            fn(self.session, self.screen)
            self.failures = 0
            self.last_error = None
        except KeyboardInterrupt:
            raise
        except PairingRequired:
            # the session has unpaired: the app notices, says so and calls unpaired()
            self.log("task %s: sign-in expired, pairing needed" % self._name())
            return
        except Exception as e:  # noqa: BLE001 - user code: anything it raises is contained
            gc.collect()
            self.failures += 1
            delay = min(BACKOFF_MS << min(self.failures - 1, 8), BACKOFF_MAX_MS)
            if isinstance(e, DevicePairError):
                why = e.message
            else:
                why = "%s: %s" % (type(e).__name__, e)
            self.last_error = why[:120]
            self.log("task %s.%s failed (#%d): %s; again in %d s"
                     % (self._name(), what, self.failures, self.last_error, delay // 1000))
            if not isinstance(e, DevicePairError):
                try:
                    sys.print_exception(e)
                except AttributeError:  # CPython
                    pass
        took = c.ticks_diff(c.ticks_ms(), started)
        if took > self.budget_ms:
            delay = max(delay, (took - self.budget_ms) * 10)
            self.log("task %s.%s took %d ms (budget %d ms): the button waited; next call "
                     "in %d s" % (self._name(), what, took, self.budget_ms, delay // 1000))
        if what != "unpaired":
            self._next = c.ticks_add(c.ticks_ms(), delay)
