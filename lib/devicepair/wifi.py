"""Wi-Fi station: join the best configured network, say why not, keep the link up.

Pairing is useless without a link, and a device with a 128x64 screen has to tell its owner
*why* it is offline ("wrong password for HomeNet", not a spinner). ``WiFi.step()`` runs a
non-blocking state machine, one move per call, and returns the ms it wants to wait before the
next call (a hint: calling it earlier is harmless). Only ``wlan.scan()`` blocks (1-3 s on a
board), once per round.

A round: scan, try the configured networks that are visible strongest first, then the ones
the scan did not show (hidden SSIDs) in config order; without scan results, config order.
Each attempt ends on a status code, ``attempt_timeout_ms``, or an IP. When every network failed
the next round waits ``backoff_ms``, doubling up to ``backoff_max_ms`` (reset on success).
A dropped link starts a new round. Driver OSErrors (ESP32 "Wifi Internal Error") are
reported and backed off, never raised.

Status codes differ per port: ESP32 reports the IDF disconnect reason (201 no AP, 202 auth,
204 handshake timeout, 1010 got IP) but only when ``config(reconnects=N)`` limits its own
retries (else it says "connecting" forever), so we set it. Pico W (CYW43): 3 up, -1 fail,
-2 no network, -3 bad auth. Never import ``network`` here: the module comes in as ``net``.
"""

import gc

_START = 0
_TRYING = 1
_CONNECTED = 2
_WAIT = 3

# Codes by meaning, both ports (they do not overlap: ESP32 uses 15 and 200+, Pico W -3..3).
_AUTH = (202, -3)  # ESP32 AUTH_FAIL, CYW43 BADAUTH
_AUTH_MAYBE = (204, 15)  # ESP32 HANDSHAKE_TIMEOUT, 4WAY_HANDSHAKE_TIMEOUT: usually the key
_NO_AP = (201, 210, 211, 212, -2)  # ESP32 NO_AP_FOUND(+IDF5 variants), CYW43 NONET
_FAIL = (-1, 200, 203, 205)  # CYW43 FAIL, ESP32 BEACON_TIMEOUT, ASSOC_FAIL, CONNECTION_FAIL


def clean(text, limit=32):
    """Printable ASCII only (others -> "?"), at most ``limit`` characters: safe to show."""
    out = ""
    for ch in text[:limit]:
        c = ch if isinstance(ch, int) else ord(ch)
        out += chr(c) if 32 <= c < 127 else "?"
    return out


class WiFi:
    poll_ms = 250  # status checks while an attempt runs
    check_ms = 1000  # link checks while connected
    driver_retries = 1  # ESP32: driver's own retries per connect() before it reports why

    def __init__(self, wlan, networks, clock, net=None, on_status=None, hostname=None,
                 country=None, attempt_timeout_ms=15000, backoff_ms=2000,
                 backoff_max_ms=60000):
        self._wlan = wlan
        self._nets = networks
        self._clock = clock
        self._net = net
        self._on_status = on_status
        self._hostname = hostname
        self._country = country
        self._timeout = attempt_timeout_ms
        self._backoff0 = backoff_ms
        self._backoff_max = backoff_max_ms
        self._delay = backoff_ms
        self._state = _START
        self._restart = False
        self._order = []
        self._i = 0
        self._t = clock.ticks_ms()  # attempt deadline, or end of the backoff wait
        self._ssid = None
        self._ip = None
        self.message = None  # last status string
        self.error = None  # last failure string, None once connected
        got = self._const("STAT_GOT_IP")
        self._got_ip = got
        # ESP32 passes any IDF reason through; CYW43 failures are negative.
        self._esp = got == 1010
        self._codes = (
            (_AUTH + self._consts("STAT_WRONG_PASSWORD"), "Wi-Fi: wrong password for %s"),
            (_AUTH_MAYBE + self._consts("STAT_HANDSHAKE_TIMEOUT"),
             "Wi-Fi: wrong password for %s?"),
            (_NO_AP + self._consts("STAT_NO_AP_FOUND"), "Wi-Fi: %s not found"),
            (_FAIL + self._consts("STAT_CONNECT_FAIL"), "Wi-Fi: cannot connect to %s"),
        )

    def _const(self, name):
        v = getattr(self._net, name, None) if self._net is not None else None
        return getattr(self._wlan, name, None) if v is None else v

    def _consts(self, name):
        v = self._const(name)
        return () if v is None else (v,)

    @property
    def connected(self):
        return self._state == _CONNECTED

    @property
    def ip(self):
        return self._ip if self._state == _CONNECTED else None

    @property
    def ssid(self):
        """The network connected to, or being tried; None otherwise."""
        return self._ssid

    def step(self):
        try:
            return self._step()
        except OSError as e:
            self._fail("Wi-Fi: driver error (" + clean(str(e), 24) + ")")
            self._disconnect()
            self._restart = True
            return self._backoff()

    def _step(self):
        now = self._clock.ticks_ms()
        st = self._state
        if st == _TRYING:
            return self._check(now)
        if st == _CONNECTED:
            if self._wlan.isconnected():
                return self.check_ms
            self._ip = None
            self._report("Wi-Fi: link lost, reconnecting")
            self._disconnect()
            return self._round()
        if st == _WAIT:
            left = self._clock.ticks_diff(self._t, now)
            if left > 0:
                return left
            if not self._restart:
                return self._round()
        self._setup()
        return self._round()

    def _setup(self):
        net = self._net
        w = self._wlan
        if self._country:
            f = getattr(net, "country", None)
            if f is not None:
                _try(f, self._country)
        if self._hostname:
            f = getattr(net, "hostname", None)
            if f is not None:
                _try(f, self._hostname)
            else:  # older ESP32 firmware
                _try(w.config, dhcp_hostname=self._hostname)
        _try(w.config, reconnects=self.driver_retries)  # ValueError on CYW43: fine
        if self._restart:  # after a driver error: restart the radio
            self._restart = False
            _try(w.active, False)
        w.active(True)

    def _round(self):
        self._ssid = None
        if not self._nets:
            self._fail("Wi-Fi: no networks configured")
            self._state = _WAIT
            self._t = self._clock.ticks_add(self._clock.ticks_ms(), self._backoff_max)
            return self._backoff_max
        self._order = self._plan()
        self._i = 0
        return self._attempt()

    def _plan(self):
        nets = self._nets
        order = list(range(len(nets)))
        scan = getattr(self._wlan, "scan", None)
        if scan is None:
            return order
        try:
            found = scan()
        except OSError:
            found = None
        if not found:
            return order
        best = {}
        for ap in found:
            if ap[0] and (ap[0] not in best or ap[3] > best[ap[0]]):
                best[ap[0]] = ap[3]
        found = None
        gc.collect()
        seen = []
        hidden = []
        for i in order:
            rssi = best.get(_key(nets[i]["ssid"]))
            if rssi is None:
                hidden.append(i)
            else:
                seen.append((-rssi, i))
        seen.sort()
        return [i for _, i in seen] + hidden

    def _attempt(self):
        n = self._nets[self._order[self._i]]
        self._ssid = n["ssid"]
        self._report("Wi-Fi: connecting to %s (%d/%d)" % (
            clean(self._ssid), self._i + 1, len(self._order)))
        self._wlan.connect(self._ssid, n.get("password") or None)
        self._state = _TRYING
        self._t = self._clock.ticks_add(self._clock.ticks_ms(), self._timeout)
        return self.poll_ms

    def _check(self, now):
        w = self._wlan
        code = w.status()
        if code == self._got_ip or w.isconnected():
            ip = self._read_ip()
            if ip and ip != "0.0.0.0":
                self._ip = ip
                self._state = _CONNECTED
                self._delay = self._backoff0
                self.error = None
                self._report("Wi-Fi: connected " + ip)
                return self.check_ms
        name = clean(self._ssid)
        msg = None
        for codes, text in self._codes:
            if code in codes:
                msg = text % name
                break
        if msg is None and isinstance(code, int) and (
                code < 0 or (self._esp and code < 1000 and code != 0)):
            msg = "Wi-Fi: cannot connect to %s (%d)" % (name, code)
        if msg is None:
            left = self._clock.ticks_diff(self._t, now)
            if left > 0:
                return min(self.poll_ms, left)
            msg = "Wi-Fi: %s timed out" % name
        self._fail(msg)
        self._disconnect()
        self._i += 1
        if self._i < len(self._order):
            return self._attempt()
        return self._backoff()

    def _backoff(self):
        d = self._delay
        self._delay = min(d * 2, self._backoff_max)
        self._state = _WAIT
        self._ssid = None
        self._t = self._clock.ticks_add(self._clock.ticks_ms(), d)
        self._report("Wi-Fi: retry in %d s" % ((d + 999) // 1000))
        return d

    def _read_ip(self):
        w = self._wlan
        f = getattr(w, "ipconfig", None)
        if f is not None:
            try:
                return f("addr4")[0]
            except (OSError, ValueError, TypeError):
                pass
        f = getattr(w, "ifconfig", None)
        if f is not None:
            return f()[0]
        return None

    def _disconnect(self):
        try:
            self._wlan.disconnect()
        except OSError:
            pass

    def _fail(self, text):
        self.error = text
        self._report(text)

    def _report(self, text):
        self.message = text
        if self._on_status is not None:
            self._on_status(text)


def _key(ssid):
    return ssid.encode() if isinstance(ssid, str) else bytes(ssid)


def _try(fn, *args, **kw):
    # Optional settings: a port without them raises ValueError/TypeError/OSError.
    try:
        fn(*args, **kw)
    except (OSError, ValueError, TypeError):
        pass
