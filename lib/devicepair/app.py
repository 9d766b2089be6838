"""The pairing app: one state machine from power-on to "Paired as <name>".

BOOT -> WIFI -> (SYNC) -> CHECK (stored token: valid, or refresh) -> PAIRED
                                 \\-> IDLE -> START -> POLLING -> PAIRED
Each ``step()`` does at most one network request and returns how many ms it wants to wait, so
the caller polls the button in between. Everything (screen, button, Wi-Fi, HTTP, clock, flash,
LED, RTC) is passed in; nothing here imports ``machine`` or ``network``. Every failure ends
in a screen that says what happened and a way back (automatic retry or a button press);
tokens are never lost to a transient error and never shown.
"""

import gc

from . import device_flow as df
from .errors import DevicePairError, PairingRequired
from .providers import discover, display_name

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
RETRY_MAX_MS = 300000


def _get(p, key, default=None):
    if isinstance(p, dict):
        return p.get(key, default)
    return getattr(p, key, default)


class App:
    def __init__(self, cfg, screen, clock, transport, store, provider, button=None, wifi=None,
                 led=None, rtc=None, timesync=None, version="", log=None):
        self.cfg = cfg
        self.screen = screen
        self.clock = clock
        self.transport = transport
        self.store = store
        self.provider = provider
        self.button = button
        self.wifi = wifi
        self.led = led
        self.rtc = rtc
        self.timesync = timesync
        self.version = version
        self.log = log or (lambda msg: None)
        self.state = None
        self.tokens = None
        self.flow = None
        self.name = None
        self._wake = clock.ticks_ms()
        self._failures = 0
        self._after_error = IDLE
        self._shown_left = None
        self._offline_shown = False
        self._enter(BOOT)

    # -- helpers ----------------------------------------------------------------------------
    def _enter(self, state, wait_ms=0):
        if state != self.state:
            self.log("state: %s" % state)
        self.state = state
        self._since = self.clock.ticks_ms()
        self._wake = self.clock.ticks_add(self._since, wait_ms)

    def _due(self):
        return self.clock.ticks_diff(self.clock.ticks_ms(), self._wake) >= 0

    def _fail(self, e, then, auto=True):
        """Show ``e``; retry automatically (transient) or on a press."""
        gc.collect()  # a fragmented heap is one cause: the retry starts with garbage freed
        msg = e.message if isinstance(e, DevicePairError) else repr(e)
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

    # -- the loop body ------------------------------------------------------------------------
    def step(self):
        """Run one slice of work; returns ms until the next call is useful (<= TICK_MS)."""
        ev = self.button.poll() if self.button else None
        if self.wifi is not None:
            self.wifi.step()
            if not self.wifi.connected and self.state in _NET_STATES:
                if not self._offline_shown:
                    self.screen.status("Wi-Fi: reconnecting")
                    self._offline_shown = True
                if self.state == POLLING and ev == "short":
                    self._cancel()
                elif self.state == POLLING and self.flow.seconds_left() == 0:
                    self.flow.step()
                    self._flow_done()
                self._led()
                return TICK_MS
            if self._offline_shown:
                self._offline_shown = False
                if self.state == POLLING:
                    self._show_pairing()
                elif self.state == PAIRED:
                    self.screen.paired(self.name or "?")
        handler = getattr(self, "_s_" + self.state)
        wait = handler(ev)
        self._led()
        if wait is None:
            wait = TICK_MS
        return max(0, min(wait, TICK_MS))

    def _s_boot(self, ev):
        self.screen.booting(self.version)
        self.tokens = self.store.load()
        if self.tokens is None and getattr(self.store, "last_error", None):
            self.log("token store: " + self.store.last_error)
        if self.tokens:
            self.name = self.tokens.get("name")
        self._enter(WIFI if self.wifi is not None else SYNC)

    def _s_wifi(self, ev):
        if self.wifi.connected:
            self._enter(SYNC)

    def _s_sync(self, ev):
        if self.clock.unix_time() is None and self.timesync is not None:
            try:
                self.timesync(self.rtc, self.cfg.ntp_host)
            except DevicePairError as e:
                return self._fail(e, SYNC)
        p = self.provider
        if _get(p, "issuer") and not _get(p, "token_endpoint"):
            # generic provider with only an issuer: its discovery document, read once now that
            # the network and the clock (certificate dates) are up
            self.screen.status("Reading provider settings...")
            try:
                discover(p, self.transport, getattr(self.cfg, "allow_insecure_http", False))
            except DevicePairError as e:
                return self._fail(e, SYNC)
            self.log("provider endpoints discovered")
        self._failures = 0
        self._enter(CHECK if self.tokens else IDLE)
        if not self.tokens:
            self.screen.idle()

    def _s_check(self, ev):
        """A stored token: use it if still valid, else refresh; then say who we are."""
        if not self.store.access_valid(self.tokens, REFRESH_MARGIN_S):
            if not self._refresh():
                return
        if self.name is None:
            self._whoami()
        self._failures = 0
        self._enter(PAIRED)
        self.screen.paired(self.name or "?")

    def _refresh(self):
        p = self.provider
        rt = self.tokens.get("refresh_token")
        # a device-flow proxy answers only the device grant: no refresh_endpoint, pair again
        url = _get(p, "refresh_endpoint", _get(p, "token_endpoint"))
        if not (rt and url):
            self._unpair("Sign-in expired")
            return False
        try:
            new = df.refresh(self.transport, url, self.cfg.client_id, rt,
                             self.cfg.client_secret, None, _get(p, "quirks"))
        except PairingRequired:
            self._unpair("Sign-in expired")
            return False
        except DevicePairError as e:
            self._fail(e, CHECK)  # tokens kept; retried automatically when transient
            return False
        if self.name:
            new["name"] = self.name
        self.tokens = self.store.update_after_refresh(self.tokens, new)
        self.log("token refreshed")
        return True

    def _whoami(self):
        url = _get(self.provider, "whoami_url") or self.cfg.api_url
        if not url:
            return
        try:
            r = self.transport.get(url, bearer=self.tokens["access_token"],
                                   headers=_get(self.provider, "whoami_headers"))
            if r.status_code == 401:  # revoked or expired early: refresh (or pair) next
                self.log("who-am-I: HTTP 401, token no longer accepted")
                self.store.invalidate(self.tokens)
            elif r.status_code == 200:
                name = display_name(r.data())
                if name:
                    self.name = name
                    self.tokens["name"] = name
                    self.tokens = self.store.save(self.tokens)
            else:
                self.log("who-am-I: HTTP %d" % r.status_code)
        except DevicePairError as e:
            self.log("who-am-I: " + e.message)

    def _s_idle(self, ev):
        if ev == "short":
            self._enter(START)
            self.screen.status("Requesting code...")

    def _s_start(self, ev):
        if ev == "short":
            return self._cancel()
        p = self.provider
        c = self.cfg
        self.flow = df.DeviceFlow(self.transport, self.clock, c.client_id,
                                  _get(p, "device_authorization_endpoint"),
                                  _get(p, "token_endpoint"), _get(p, "scope") or c.scope,
                                  c.extra_params, c.client_secret, _get(p, "quirks"))
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

    def _show_pairing(self):
        f = self.flow
        self._shown_left = f.seconds_left()
        self.screen.pairing(f.user_code, f.verification_uri, f.verification_uri_complete,
                            self._shown_left)

    def _cancel(self):
        if self.flow:
            self.flow.cancel()
        self.flow = None
        self.log("pairing cancelled")
        self._enter(IDLE)
        self.screen.idle()

    def _s_polling(self, ev):
        f = self.flow
        if ev == "short":
            return self._cancel()
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
        if hasattr(self.screen, "tick"):
            self.screen.tick()
        return wait

    def _flow_done(self):
        f = self.flow
        self.flow = None
        if f.state == df.DONE:
            self.screen.approved()
            tokens = f.tokens
            f.tokens = None
            self.tokens = self.store.save(tokens)  # first: kept even if who-am-I fails
            self.name = None
            self._whoami()
            self._failures = 0
            self._enter(PAIRED)
            self.screen.paired(self.name or "?")
            self.log("paired as %s" % (self.name or "?"))
        elif f.state == df.DENIED:
            self._enter(DENIED)
            self.screen.denied()
        elif f.state == df.EXPIRED:
            self._enter(EXPIRED)
            self.screen.expired()
        elif f.state == df.FAILED:
            self._fail(f.error, START, auto=False)

    def _s_paired(self, ev):
        if ev == "long":
            self._enter(CONFIRM)
            self.screen.unpair_confirm()
            return
        if self.button is not None and self.button.pressed:
            held = self.button.held_ms()
            if held > 300:
                self.screen.hold_progress(min(1.0, held / self.button.long_ms))
        elif ev == "double":
            self._whoami()
            self.screen.paired(self.name or "?")
        if not self.store.access_valid(self.tokens, REFRESH_MARGIN_S) and self._refresh():
            self.screen.paired(self.name or "?")

    def _s_confirm_unpair(self, ev):
        if ev == "short":
            return self._unpair(None)
        if self.clock.ticks_diff(self.clock.ticks_ms(), self._since) > CONFIRM_MS or ev:
            self._enter(PAIRED)
            self.screen.paired(self.name or "?")

    def _unpair(self, reason):
        self.store.clear()
        self.tokens = None
        self.name = None
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
        if ev == "short" or (self._auto_retry and self._due()):
            if self._after_error == START:
                self.screen.status("Requesting code...")
            self._enter(self._after_error)

