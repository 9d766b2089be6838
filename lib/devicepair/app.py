"""The pairing app: one state machine from power-on to "Paired as <name>".

BOOT -> WIFI -> (SYNC) -> CHECK (stored token: valid, or refresh) -> PAIRED
                       \\-> RESUME (a code on screen before a reset) -> POLLING
                                 \\-> IDLE -> START -> POLLING -> PAIRED
Each ``step()`` does at most one network request and returns how many ms it wants to wait, so
the caller polls the button in between. The app is the button, the states, the screens and the
LED; the tokens are the ``session.Session``'s (the app knows no token field) and one pairing
is a ``device_flow.DeviceFlow``. Everything (screen, button, Wi-Fi, HTTP, clock, flash, LED,
RTC) is passed in; nothing here imports ``machine`` or ``network``. Every failure ends in a
screen that says what happened and a way back (automatic retry or a button press) - whatever
a server sends, the button keeps working, unpair included; tokens are never lost to a
transient error and never shown.
"""

import gc

from . import device_flow as df
from .errors import DevicePairError, PairingRequired, StorageError

BOOT = "boot"
WIFI = "wifi"
SYNC = "sync"
CHECK = "check"
IDLE = "idle"
START = "start"
POLLING = "polling"
PAIRED = "paired"
CONFIRM = "confirm_unpair"
DENIED = "denied"
EXPIRED = "expired"
ERROR = "error"

_NET_STATES = (SYNC, CHECK, START, POLLING, PAIRED)
# LED (on_ms, off_ms) per state; None = off, (1, 0) = steady on
LED_PATTERNS = {WIFI: (100, 400), SYNC: (100, 400), IDLE: (1000, 1000), START: (150, 150),
                POLLING: (150, 150), PAIRED: (1, 0), CONFIRM: (50, 50), ERROR: (50, 950),
                DENIED: (50, 950), EXPIRED: (50, 950)}
TICK_MS = 25
CONFIRM_MS = 10000
REFRESH_MARGIN_S = 120
SAVE_RETRY_MS = 30000
RETRY_MAX_MS = 300000


class App:
    """``App(screen, clock, session, button=, wifi=, led=, rtc=, timesync=, ntp_host=,
    pairing_file=, task=, version=, log=)``: all but the first three optional.
    ``pairing_file`` (on the session's store's filesystem) keeps the code in flight across a
    reset; None: a reset forgets it."""

    def __init__(self, screen, clock, session, button=None, wifi=None, led=None, rtc=None,
                 timesync=None, ntp_host="pool.ntp.org", pairing_file=None, task=None,
                 version="", log=None):
        self.screen = screen
        self.clock = clock
        self.session = session
        self.button = button
        self.wifi = wifi
        self.led = led
        self.rtc = rtc
        self.timesync = timesync
        self.ntp_host = ntp_host
        self.pairing_file = pairing_file
        self.task = task
        self.version = version
        self.log = log or (lambda msg: None)
        self.watchers = []
        if task is not None:
            self.watchers.append(task.event)
        self.state = None
        self.flow = None
        self._wake = clock.ticks_ms()
        self._failures = 0
        self._after_error = IDLE
        self._auto_retry = False
        self._shown_left = None
        self._offline_shown = False
        self._was_paired = False
        self._save_retry = None
        self._redraw = False
        self._storage_msg = ""
        self._enter(BOOT)

    @property
    def name(self):
        return self.session.name

    @property
    def needs_press(self):
        """True when only the button moves the app on (an error no retry fixes)."""
        return self.state == ERROR and not self._auto_retry

    def watch(self, fn):
        """Call ``fn("paired")`` / ``fn("unpaired")`` when the board becomes (un)paired."""
        self.watchers.append(fn)

    # -- helpers ----------------------------------------------------------------------------
    def _enter(self, state, wait_ms=0):
        if state != self.state:
            self.log("state: %s" % state)
        self.state = state
        self._since = self.clock.ticks_ms()
        self._wake = self.clock.ticks_add(self._since, wait_ms)
        if state == PAIRED and not self._was_paired:
            self._notify("paired")

    def _notify(self, what):
        self._was_paired = what == "paired"
        for fn in self.watchers:
            fn(what)

    def _due(self):
        return self.clock.ticks_diff(self.clock.ticks_ms(), self._wake) >= 0

    def _fail(self, e, then, auto=True):
        """Show ``e``; retry automatically (transient) or on a press."""
        gc.collect()  # a fragmented heap is one cause: the retry starts with garbage freed
        msg = e.message if isinstance(e, DevicePairError) else _internal(e)
        self.log("error: " + msg)
        self.screen.error(msg)
        self._after_error = then
        wait = -1
        if auto and getattr(e, "transient", False):
            self._failures += 1
            wait = min(2000 << min(self._failures, 8), RETRY_MAX_MS)
            ra = getattr(e, "retry_after", None)
            if ra:
                wait = max(wait, min(ra * 1000, RETRY_MAX_MS))
        self._enter(ERROR, wait if wait >= 0 else 0)
        self._auto_retry = wait >= 0

    def _led(self):
        if self.led is None:
            return
        pat = LED_PATTERNS.get(self.state)
        on = False
        if pat:
            period = pat[0] + pat[1]
            on = pat[1] == 0 or self.clock.ticks_diff(self.clock.ticks_ms(), self._since) \
                % period < pat[0]
        self.led.value(1 if on else 0)

    def _show_paired(self):
        self.screen.paired(self.session.name or "?")
        if self.session.save_pending:  # the flash problem stays on screen until it is solved
            self.screen.status(self._storage_msg)

    # -- the loop body ------------------------------------------------------------------------
    def step(self):
        """Run one slice of work; returns ms until the next call is useful (<= TICK_MS)."""
        ev = self.button.poll() if self.button else None
        try:
            wait = self._step(ev)
        except KeyboardInterrupt:
            raise
        except Exception as e:  # noqa: BLE001 - whatever a server sent: a screen, not a crash
            if isinstance(e, MemoryError) and self.state == POLLING and self.flow is not None:
                # drawing the code ran out of heap: the code stays valid, so keep polling it
                # and draw it again once the garbage is freed
                gc.collect()
                self.log("error: out of memory while showing the code; drawing it again")
                self._redraw = True
                self._led()
                return TICK_MS
            # A bug or a byte sequence nothing caught: show it, and go back to a state where
            # the button works (a paired board keeps its tokens: refresh or unpair from there).
            self.flow = None
            self._fail(e if isinstance(e, DevicePairError) else _Internal(e),
                       CHECK if self.session.paired else IDLE)
            wait = TICK_MS
        self._led()
        if wait is None:
            wait = TICK_MS
        return max(0, min(wait, TICK_MS))

    def _step(self, ev):
        if self.wifi is not None:
            self.wifi.step()
            if not self.wifi.connected and self.state in _NET_STATES:
                if not self._offline_shown:
                    self.screen.status("Wi-Fi: reconnecting")
                    self._offline_shown = True
                if self.state == POLLING and ev == "short":
                    self._cancel()
                elif self.state == POLLING and self.flow.check_deadline():
                    self._flow_done()
                elif self.state == PAIRED and ev == "long":
                    self._enter(CONFIRM)
                    self.screen.unpair_confirm()
                return TICK_MS
            if self._offline_shown:
                self._offline_shown = False
                if self.state == POLLING:
                    self._show_pairing()
                elif self.state == PAIRED:
                    self._show_paired()
        if self.session.save_pending and self._save_retry is None:
            self._storage_failed(StorageError("flash full"))
        elif self._save_retry is not None and self.clock.ticks_diff(
                self.clock.ticks_ms(), self._save_retry) >= 0:
            self._retry_save()
        return getattr(self, "_s_" + self.state)(ev)

    def _retry_save(self):
        try:
            self.session.retry_save()
            self._save_retry = None
            self.log("token store: saved")
            if self.state == PAIRED:
                self._show_paired()
        except StorageError as e:
            self._storage_failed(e)

    def _storage_failed(self, e):
        """Flash refused the tokens: they are kept in RAM and used from there; say so, and
        try the write again every 30 s."""
        self.log("token store: " + e.message + " - tokens kept in RAM, retrying")
        self._storage_msg = e.message + ": retrying"
        self.screen.status(self._storage_msg)
        self._save_retry = self.clock.ticks_add(self.clock.ticks_ms(), SAVE_RETRY_MS)

    def _s_boot(self, ev):
        self.screen.booting(self.version)
        self.session.load()
        self._enter(WIFI if self.wifi is not None else SYNC)

    def _s_wifi(self, ev):
        if self.wifi.connected:
            self._enter(SYNC)

    def _s_sync(self, ev):
        if self.clock.unix_time() is None and self.timesync is not None:
            try:
                self.timesync(self.rtc, self.ntp_host)
            except DevicePairError as e:
                return self._fail(e, SYNC)
        s = self.session
        if s.client.issuer:
            # generic provider with only an issuer: its discovery document, read once now that
            # the network and the clock (certificate dates) are up
            self.screen.status("Reading provider settings...")
            from .providers import discover  # once: providers.py is not kept loaded

            try:
                s.client = discover(s.client, s.transport)
            except DevicePairError as e:
                return self._fail(e, SYNC)
            self.log("provider endpoints discovered")
        self._failures = 0
        if not s.paired and self._resume():
            return
        self._enter(CHECK if s.paired else IDLE)
        if not s.paired:
            self.screen.idle()

    def _inflight(self, what, *args):
        """inflight.<what>(file, fs, ...) with the module loaded for this call only. Best
        effort: flash or memory refusing it costs the reset-survival, never the pairing."""
        if self.pairing_file is None:
            return False
        from . import forget

        try:
            from . import inflight

            return getattr(inflight, what)(self.pairing_file, self.session.store.fs, *args)
        except (OSError, MemoryError) as e:
            self.log("pairing: in-flight file %s failed (%s)" % (what, type(e).__name__))
            return False
        finally:
            forget("inflight")

    def _resume(self):
        """A code that was on screen when the board reset: poll it again until its deadline
        (one past it is dropped silently). True when resumed."""
        f = df.DeviceFlow(self.session.transport, self.clock, self.session.client)
        if not self._inflight("resume", f, self.clock.unix_time()):
            return False
        self.flow = f
        self.log("pairing: resumed the code shown before the reset")
        self._enter(POLLING)
        self._show_pairing()
        return True

    def _s_check(self, ev):
        """A stored token: use it if still valid, else refresh; then say who we are."""
        s = self.session
        if not s.valid(REFRESH_MARGIN_S) and not self._refresh():
            return
        if s.name is None:
            s.whoami()
        self._failures = 0
        self._enter(PAIRED)
        self._show_paired()

    def _refresh(self):
        try:
            self.session.refresh()
        except PairingRequired:
            self._unpair("Sign-in expired")
            return False
        except StorageError as e:
            self._storage_failed(e)  # refreshed: the new tokens are in RAM
            return True
        except DevicePairError as e:
            self._fail(e, CHECK)  # tokens kept; retried automatically when transient
            return False
        return True

    def _s_idle(self, ev):
        if ev == "short":
            self._enter(START)
            self.screen.status("Requesting code...")

    def _s_start(self, ev):
        if ev == "short":
            return self._cancel()
        s = self.session
        self.flow = df.DeviceFlow(s.transport, self.clock, s.client)
        try:
            self.flow.start()
        except DevicePairError as e:
            self.flow = None
            return self._fail(e, START, auto=getattr(e, "transient", False))
        self._failures = 0
        self._enter(POLLING)
        self._show_pairing()
        self.log("pairing: open %s and enter %s" % (self.flow.verification_uri,
                                                    self.flow.user_code))
        self._inflight("save", self.flow, self.clock.unix_time())

    def _show_pairing(self):
        f = self.flow
        self._shown_left = f.seconds_left()
        self.screen.pairing(f.user_code, f.verification_uri, f.verification_uri_complete,
                            self._shown_left)

    def _end_flow(self):
        self.flow = None
        self._inflight("clear")

    def _cancel(self):
        if self.flow:
            self.flow.cancel()
        self._end_flow()
        self.log("pairing cancelled")
        self._enter(IDLE)
        self.screen.idle()

    def _s_polling(self, ev):
        f = self.flow
        if ev == "short":
            return self._cancel()
        if self._redraw:
            self._redraw = False
            self._show_pairing()
        note = f.note
        wait = f.step()
        if f.state != df.POLLING:
            return self._flow_done()
        if f.note != note:
            self.screen.polling_note(f.note)
        left = f.seconds_left()
        if left != self._shown_left:
            self._shown_left = left
            self.screen.countdown(left)
        self.screen.tick()
        return wait

    def _flow_done(self):
        f = self.flow
        self._end_flow()
        if f.state == df.DONE:
            self.screen.approved()
            s = self.session
            try:
                s.adopt(f.take_tokens())  # first: kept (RAM or flash) even if who-am-I fails
            except StorageError as e:
                self._storage_failed(e)
            s.whoami()
            self._failures = 0
            self._enter(PAIRED)
            self._show_paired()
            self.log("paired as %s" % (s.name or "?"))
        elif f.state == df.DENIED:
            self._enter(DENIED)
            self.screen.denied()
        elif f.state == df.EXPIRED:
            self._enter(EXPIRED)
            self.screen.expired()
        elif f.state == df.FAILED:
            self._fail(f.error, START, auto=False)

    def _s_paired(self, ev):
        s = self.session
        if not s.paired:  # the user's task met a revoked refresh token
            return self._unpair("Sign-in expired")
        if ev == "long":
            self._enter(CONFIRM)
            self.screen.unpair_confirm()
            return
        if self.button is not None and self.button.pressed:
            held = self.button.held_ms()
            if held > 300:
                self.screen.hold_progress(min(1.0, held / self.button.long_ms))
        elif ev == "double":
            s.whoami()
            self._show_paired()
        if not s.valid(REFRESH_MARGIN_S):
            if self._refresh():
                self._show_paired()
            return
        if self.task is not None and self.task.step() and not s.paired:
            self._unpair("Sign-in expired")

    def _s_confirm_unpair(self, ev):
        if ev == "short":
            return self._unpair(None)
        if self.clock.ticks_diff(self.clock.ticks_ms(), self._since) > CONFIRM_MS or ev:
            self._enter(PAIRED)
            self._show_paired()

    def _unpair(self, reason):
        self.session.unpair()
        self._save_retry = None
        if self._was_paired:
            self._notify("unpaired")
        self.log("unpaired" + (": " + reason if reason else ""))
        self._enter(IDLE)
        if reason:
            self.screen.error(reason + " - press to pair")
        else:
            self.screen.unpaired()

    def _s_denied(self, ev):
        if ev == "short":
            self._enter(START)
            self.screen.status("Requesting code...")

    _s_expired = _s_denied

    def _s_error(self, ev):
        if ev == "long" and self.session.paired:  # unpair stays in reach whatever failed
            self._enter(CONFIRM)
            self.screen.unpair_confirm()
            return
        if ev == "short" or (self._auto_retry and self._due()):
            if self._after_error == START:
                self.screen.status("Requesting code...")
            elif self._after_error == IDLE:
                self.screen.idle()
            self._enter(self._after_error)


class _Internal(DevicePairError):
    """Something nothing else caught (a bug, or input no check foresaw): transient, so the
    app retries on its own from a safe state."""

    transient = True

    def __init__(self, e):
        DevicePairError.__init__(self, _internal(e))


def _internal(e):
    if isinstance(e, MemoryError):
        return "out of memory"
    return "internal error (%s)" % type(e).__name__
