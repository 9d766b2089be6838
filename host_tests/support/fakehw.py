"""Fake board hardware for the button and Wi-Fi tests: a pin, a WLAN and the network module.

All driven by a ``FakeClock``; nothing sleeps. Runs on CPython and MicroPython.

- ``FakePin``: a level the test sets (``value(0)``) or scripts (``script([(ms, level), ..])``,
  ``bouncy_press(...)``); ``irq(handler, trigger)`` calls the handler on every change it
  triggers on, like a real edge interrupt. Move time with ``advance(clock, ms, pin)`` so
  scripted edges (and their interrupts) happen at their moment, not at the next read.
- ``FakeWLAN``: a station interface with scripted access points, per-port status codes,
  ``drop()`` for link loss and a ``calls`` log.
- ``FakeNetwork``: the ``network`` module: ``STAT_*`` per port, ``hostname()``/``country()``.
"""

# Status codes as the real ports define them.
CODES = {
    "esp32": {
        "STAT_IDLE": 1000, "STAT_CONNECTING": 1001, "STAT_GOT_IP": 1010,
        "STAT_BEACON_TIMEOUT": 200, "STAT_NO_AP_FOUND": 201, "STAT_WRONG_PASSWORD": 202,
        "STAT_ASSOC_FAIL": 203, "STAT_HANDSHAKE_TIMEOUT": 204,
    },
    "picow": {  # CYW43 link status
        "STAT_IDLE": 0, "STAT_CONNECTING": 1, "STAT_GOT_IP": 3, "STAT_CONNECT_FAIL": -1,
        "STAT_NO_AP_FOUND": -2, "STAT_WRONG_PASSWORD": -3,
    },
}
_RESULT = {  # scripted result -> code name once connect_ms has passed
    "ok": "STAT_GOT_IP", "slow_ok": "STAT_GOT_IP", "wrong_password": "STAT_WRONG_PASSWORD",
    "no_ap": "STAT_NO_AP_FOUND", "fail": "STAT_CONNECT_FAIL",
}


class FakePin:
    IRQ_FALLING = 4  # rp2 values
    IRQ_RISING = 8

    def __init__(self, clock, level=1):
        self._clock = clock
        self._level = level
        self._handler = None
        self._trigger = 0
        self._script = []  # (elapsed ms, level), in time order
        self.irqs = 0  # handler calls so far

    def value(self, v=None):
        if v is None:
            self.sync()
            return self._level
        self._set(1 if v else 0)

    def irq(self, handler=None, trigger=IRQ_FALLING | IRQ_RISING):
        self._handler = handler
        self._trigger = trigger if handler is not None else 0

    def _set(self, level):
        if level == self._level:
            return
        self._level = level
        want = self.IRQ_RISING if level else self.IRQ_FALLING
        if self._handler is not None and self._trigger & want:
            self.irqs += 1
            self._handler(self)

    def script(self, steps):
        """Schedule ``[(ms from now, level), ...]`` transitions."""
        t0 = self._clock.elapsed_ms
        for ms, level in steps:  # insert in time order; equal times keep their order
            i = len(self._script)
            while i and self._script[i - 1][0] > t0 + ms:
                i -= 1
            self._script.insert(i, (t0 + ms, level))

    def bouncy_press(self, hold_ms, bounces=5, bounce_ms=1, at=0, active_low=True):
        """Press at ``at`` ms from now and release ``hold_ms`` later, each edge followed by
        ``bounces`` bounces (one level change every ``bounce_ms``)."""
        on = 0 if active_low else 1
        steps = []
        for start, level in ((at, on), (at + hold_ms, 1 - on)):
            for i in range(2 * bounces + 1):
                steps.append((start + i * bounce_ms, level if i % 2 == 0 else 1 - level))
        self.script(steps)

    def next_due(self):
        return self._script[0][0] if self._script else None

    def sync(self):
        now = self._clock.elapsed_ms
        while self._script and self._script[0][0] <= now:
            self._set(self._script.pop(0)[1])


def advance(clock, ms, *pins):
    """Advance ``clock`` by ``ms``, applying the pins' scripted edges at their moments."""
    end = clock.elapsed_ms + ms
    for _ in range(10000):
        due = None
        for p in pins:
            t = p.next_due()
            if t is not None and t <= end and (due is None or t < due):
                due = t
        if due is None:
            break
        if due > clock.elapsed_ms:
            clock.advance(due - clock.elapsed_ms)
        for p in pins:
            p.sync()
    if end > clock.elapsed_ms:
        clock.advance(end - clock.elapsed_ms)


class FakeNetwork:
    """The ``network`` module of one port. ``hostname=False``/``country=False``: absent."""

    STA_IF = 0
    AP_IF = 1

    def __init__(self, flavour="esp32", hostname=True, country=True):
        for k, v in CODES[flavour].items():
            setattr(self, k, v)
        self.calls = []
        if hostname:
            self.hostname = self._hostname
        if country:
            self.country = self._country

    def _hostname(self, name=None):
        self.calls.append(("hostname", name))

    def _country(self, cc=None):
        self.calls.append(("country", cc))


class FakeWLAN:
    """A STA interface. ``aps``: {ssid: {"rssi": -60 (or a list: one per BSSID),
    "result": "ok"|"wrong_password"|"no_ap"|"fail"|"slow_ok", "connect_ms": 3000,
    "code": override status code, "hidden": not in scans, "ip": address}}.

    An SSID not in ``aps`` ends in "no AP found". ESP32 flavour reports failure codes only
    after ``config(reconnects=N)`` (as the real driver: else "connecting" forever).
    ``connect_errors``: that many next connect() calls raise OSError("Wifi Internal Error").
    ``scan``: False = no scan() method, "error" = scan() raises OSError.
    ``ipconfig``: False = only the older ``ifconfig()``.
    """

    def __init__(self, clock, flavour="esp32", aps=None, scan=True, ipconfig=True,
                 connect_errors=0):
        self._clock = clock
        self.flavour = flavour
        self._c = CODES[flavour]
        self.aps = aps or {}
        self._active = False
        self._target = None  # ssid being joined or joined
        self._t0 = 0
        self._dropped = False
        self._status = self._c["STAT_IDLE"]
        self.reconnects = None
        self.connect_errors = connect_errors
        self.calls = []
        if scan == "error":
            self.scan = self._scan_error
        elif scan:
            self.scan = self._scan
        if ipconfig:
            self.ipconfig = self._ipconfig

    def _log(self, *call):
        self.calls.append(call)

    def connects(self):
        return [c[1] for c in self.calls if c[0] == "connect"]

    def active(self, on=None):
        if on is None:
            return self._active
        self._log("active", bool(on))
        self._active = bool(on)
        if not on:
            self._target = None
            self._status = self._c["STAT_IDLE"]

    def connect(self, ssid=None, key=None):
        self._log("connect", ssid, key)
        if not self._active:
            raise OSError("Wifi Not Started")
        if self.connect_errors:
            self.connect_errors -= 1
            raise OSError("Wifi Internal Error")
        self._target = ssid
        self._t0 = self._clock.elapsed_ms
        self._dropped = False

    def disconnect(self):
        self._log("disconnect")
        self._target = None
        self._status = self._c["STAT_IDLE"]

    def drop(self):
        """The AP went away: link lost (ESP32 reports beacon timeout, CYW43 link down)."""
        self._dropped = True
        self._status = 200 if self.flavour == "esp32" else 0

    def status(self, param=None):
        if param is not None:
            raise ValueError("unknown status param")
        if self._target is None or self._dropped:
            return self._status
        ap = self.aps.get(self._target)
        if ap is None:
            ap = {"result": "no_ap", "connect_ms": 2000}
        result = ap.get("result", "ok")
        wait = ap.get("connect_ms", 20000 if result == "slow_ok" else 1000)
        if self._clock.elapsed_ms - self._t0 < wait:
            return self._c["STAT_CONNECTING"]
        code = ap.get("code")
        if code is None:
            code = self._c.get(_RESULT[result], self._c.get("STAT_ASSOC_FAIL"))
        if (code != self._c["STAT_GOT_IP"] and self.flavour == "esp32"
                and self.reconnects is None):
            return self._c["STAT_CONNECTING"]  # driver retries forever
        return code

    def isconnected(self):
        return self.status() == self._c["STAT_GOT_IP"]

    def _ip(self):
        if not self.isconnected():
            return "0.0.0.0"
        return self.aps[self._target].get("ip", "192.168.1.20")

    def _ipconfig(self, key):
        if key != "addr4":
            raise ValueError("unexpected key")
        return (self._ip(), "255.255.255.0")

    def ifconfig(self):
        return (self._ip(), "255.255.255.0", "192.168.1.1", "192.168.1.1")

    def _scan(self):
        self._log("scan")
        if not self._active:
            raise OSError("STA must be active")
        out = []
        for ssid, ap in self.aps.items():
            if ap.get("hidden"):
                out.append((b"", b"\x00\x11\x22\x33\x44\x55", 6, ap.get("rssi", -70), 3, True))
                continue
            rssi = ap.get("rssi", -70)
            for r in rssi if isinstance(rssi, list) else [rssi]:
                out.append((ssid.encode(), b"\xaa\xbb\xcc\xdd\xee\xff", 1, r, 3, False))
        return out

    def _scan_error(self):
        self._log("scan")
        raise OSError("Wifi Internal Error")

    def config(self, *args, **kw):
        self._log("config", kw)
        known = ("reconnects", "dhcp_hostname", "pm") if self.flavour == "esp32" else ("pm",)
        for k in kw:
            if k not in known:
                raise ValueError("unknown config param")
        if "reconnects" in kw:
            self.reconnects = kw["reconnects"]
