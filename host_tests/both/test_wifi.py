"""WiFi state machine against FakeWLAN/FakeNetwork for both ports (CPython and MicroPython)."""

from devicepair.wifi import WiFi, clean
from fakeclock import FakeClock
from fakehw import FakeNetwork, FakeWLAN


def make(aps, ssids, flavour="esp32", net=True, scan=True, ipconfig=True, connect_errors=0,
         **kw):
    clk = FakeClock()
    wlan = FakeWLAN(clk, flavour, aps, scan=scan, ipconfig=ipconfig,
                    connect_errors=connect_errors)
    module = FakeNetwork(flavour) if net is True else (net or None)
    seen = []
    nets = [{"ssid": s, "password": "pw-" + s} for s in ssids]
    w = WiFi(wlan, nets, clk, net=module, on_status=seen.append, **kw)
    return clk, wlan, module, w, seen


def drive(clk, w, until=None, ms=120000):
    """Step as asked (advancing by the returned delay) until ``until(w)`` or ``ms`` pass.
    Returns the list of (elapsed ms at the step, returned delay)."""
    steps = []
    end = clk.elapsed_ms + ms
    for _ in range(2000):
        d = w.step()
        steps.append((clk.elapsed_ms, d))
        if until is not None and until(w):
            break
        if clk.elapsed_ms >= end:
            break
        clk.advance(max(d, 1))
    return steps


def connected(w):
    return w.connected


def test_connects_and_reports_ip():
    clk, wlan, net, w, seen = make({"HomeNet": {"rssi": -60, "connect_ms": 3000}}, ["HomeNet"])
    assert not w.connected and w.ip is None
    steps = drive(clk, w, connected)
    assert seen == ["Wi-Fi: connecting to HomeNet (1/1)", "Wi-Fi: connected 192.168.1.20"]
    assert steps[0] == (0, 250) and steps[-1] == (3000, 1000)
    assert w.connected and w.ip == "192.168.1.20" and w.ssid == "HomeNet"
    assert ("connect", "HomeNet", "pw-HomeNet") in wlan.calls
    assert ("config", {"reconnects": 1}) in wlan.calls  # ESP32 must report failure codes
    assert wlan.calls.index(("active", True)) < wlan.calls.index(("scan",))
    assert w.step() == 1000 and w.error is None


def test_strongest_first_then_hidden_in_config_order():
    for flavour in ("esp32", "picow"):
        aps = {
            "Cafe": {"rssi": -80, "result": "fail"},
            "HomeNet": {"rssi": [-75, -50], "result": "wrong_password"},  # two BSSIDs
            "Neighbour": {"rssi": -30},  # not configured: ignored
            "Secret": {"hidden": True, "rssi": -40},
        }
        clk, wlan, net, w, seen = make(aps, ["Office", "Cafe", "Secret", "HomeNet"], flavour)
        drive(clk, w, connected)
        assert wlan.connects() == ["HomeNet", "Cafe", "Office", "Secret"]
        assert seen == [
            "Wi-Fi: connecting to HomeNet (1/4)",
            "Wi-Fi: wrong password for HomeNet",
            "Wi-Fi: connecting to Cafe (2/4)",
            "Wi-Fi: cannot connect to Cafe",
            "Wi-Fi: connecting to Office (3/4)",
            "Wi-Fi: Office not found",
            "Wi-Fi: connecting to Secret (4/4)",
            "Wi-Fi: connected 192.168.1.20",
        ], (flavour, seen)
        assert w.ssid == "Secret"


def test_failure_codes_both_ports():
    cases = (
        ("esp32", {"result": "wrong_password"}, "Wi-Fi: wrong password for HomeNet"),
        ("esp32", {"code": 204}, "Wi-Fi: wrong password for HomeNet?"),
        ("esp32", {"code": 15}, "Wi-Fi: wrong password for HomeNet?"),
        ("esp32", {"result": "no_ap"}, "Wi-Fi: HomeNet not found"),
        ("esp32", {"code": 2}, "Wi-Fi: cannot connect to HomeNet (2)"),
        ("picow", {"result": "wrong_password"}, "Wi-Fi: wrong password for HomeNet"),
        ("picow", {"result": "no_ap"}, "Wi-Fi: HomeNet not found"),
        ("picow", {"result": "fail"}, "Wi-Fi: cannot connect to HomeNet"),
    )
    for flavour, ap, msg in cases:
        for net in (True, None):  # codes known from the network module, or built in
            ap = dict(ap)
            ap["connect_ms"] = 2000
            clk, wlan, module, w, seen = make({"HomeNet": ap}, ["HomeNet"], flavour, net)
            drive(clk, w, lambda w: w.error is not None)
            if net is None and ap.get("code") == 2:
                # port unknown: 2 could be CYW43 "joined, no IP yet", so wait it out
                assert clk.elapsed_ms == 15000
                assert w.error == "Wi-Fi: HomeNet timed out"
                continue
            assert clk.elapsed_ms == 2000, (flavour, ap, net, clk.elapsed_ms)
            assert seen == ["Wi-Fi: connecting to HomeNet (1/1)", msg, "Wi-Fi: retry in 2 s"], \
                (flavour, ap, net, seen)
            assert w.error == msg and not w.connected
            assert wlan.calls[-1] == ("disconnect",)


def test_attempt_timeout():
    clk, wlan, net, w, seen = make({"HomeNet": {"result": "slow_ok"}}, ["HomeNet"],
                                   attempt_timeout_ms=15000)
    steps = drive(clk, w, lambda w: w.error is not None)
    assert steps[-1] == (15000, 2000)
    assert seen == ["Wi-Fi: connecting to HomeNet (1/1)", "Wi-Fi: HomeNet timed out",
                    "Wi-Fi: retry in 2 s"]
    assert ("disconnect",) in wlan.calls


def test_backoff_doubles_up_to_cap_and_resets_after_success():
    aps = {"HomeNet": {"result": "wrong_password", "connect_ms": 1000}}
    clk, wlan, net, w, seen = make(aps, ["HomeNet"], backoff_ms=2000, backoff_max_ms=10000)
    waits = []
    for _ in range(200):
        d = w.step()
        if seen[-1].startswith("Wi-Fi: retry"):
            waits.append((d, seen[-1]))
            if len(waits) == 2:  # called early during a wait: the rest of it, silently
                n = len(seen)
                clk.advance(1500)
                assert w.step() == d - 1500 and len(seen) == n
                d -= 1500
            if len(waits) == 5:
                break
        clk.advance(d)
    assert waits == [(2000, "Wi-Fi: retry in 2 s"), (4000, "Wi-Fi: retry in 4 s"),
                     (8000, "Wi-Fi: retry in 8 s"), (10000, "Wi-Fi: retry in 10 s"),
                     (10000, "Wi-Fi: retry in 10 s")]
    assert wlan.connects() == ["HomeNet"] * 5
    wlan.aps["HomeNet"]["result"] = "ok"  # password fixed on the router
    clk.advance(10000)
    drive(clk, w, connected)
    assert w.connected
    wlan.aps["HomeNet"]["result"] = "wrong_password"
    wlan.drop()
    del seen[:]
    drive(clk, w, lambda w: seen[-1].startswith("Wi-Fi: retry"))
    assert seen[-1] == "Wi-Fi: retry in 2 s"


def test_reconnect_after_drop():
    for flavour in ("esp32", "picow"):
        clk, wlan, net, w, seen = make({"HomeNet": {"rssi": -60}}, ["HomeNet"], flavour)
        drive(clk, w, connected)
        assert drive(clk, w, ms=5000)[-1][1] == 1000  # link checks while up
        wlan.drop()
        del seen[:]
        assert w.step() == 250
        assert not w.connected and w.ip is None
        drive(clk, w, connected)
        assert seen == ["Wi-Fi: link lost, reconnecting", "Wi-Fi: connecting to HomeNet (1/1)",
                        "Wi-Fi: connected 192.168.1.20"], seen
        assert wlan.connects() == ["HomeNet", "HomeNet"]


def test_oserror_from_connect_is_reported_and_backed_off():
    clk, wlan, net, w, seen = make({"HomeNet": {}}, ["HomeNet"], connect_errors=1)
    assert w.step() == 2000  # no exception escapes
    assert seen == ["Wi-Fi: connecting to HomeNet (1/1)",
                    "Wi-Fi: driver error (Wifi Internal Error)", "Wi-Fi: retry in 2 s"]
    assert w.error == "Wi-Fi: driver error (Wifi Internal Error)"
    clk.advance(2000)
    n = len(wlan.calls)
    drive(clk, w, connected)
    assert w.connected
    assert ("active", False) in wlan.calls[n:]  # the radio is restarted after a driver error
    assert seen[-1] == "Wi-Fi: connected 192.168.1.20"


def test_scan_error_or_missing_scan_means_config_order():
    aps = {"A": {"rssi": -90, "result": "no_ap"}, "B": {"rssi": -40}}
    for scan in ("error", False):
        clk, wlan, net, w, seen = make(aps, ["A", "B"], scan=scan)
        drive(clk, w, connected)
        assert wlan.connects() == ["A", "B"]
        assert w.ssid == "B"


def test_hostname_and_country_applied_before_activation():
    clk, wlan, net, w, seen = make({"HomeNet": {}}, ["HomeNet"], "picow",
                                   hostname="devicepair-1", country="GB")
    drive(clk, w, connected)
    assert net.calls == [("country", "GB"), ("hostname", "devicepair-1")]
    # CYW43 has no config(reconnects=...): the ValueError is tolerated
    assert wlan.reconnects is None and w.connected


def test_hostname_fallback_to_dhcp_hostname_on_old_esp32():
    old = FakeNetwork("esp32", hostname=False, country=False)
    clk, wlan, net, w, seen = make({"HomeNet": {}}, ["HomeNet"], net=old,
                                   hostname="devicepair-1", country="DE")
    drive(clk, w, connected)
    assert old.calls == []
    assert ("config", {"dhcp_hostname": "devicepair-1"}) in wlan.calls
    assert w.connected


def test_ifconfig_when_no_ipconfig():
    clk, wlan, net, w, seen = make({"HomeNet": {"ip": "10.0.0.7"}}, ["HomeNet"],
                                   "picow", ipconfig=False)
    drive(clk, w, connected)
    assert w.ip == "10.0.0.7" and seen[-1] == "Wi-Fi: connected 10.0.0.7"


def test_ssid_sanitised_in_messages():
    name = "Caf\u00e9 \u2615\x07"
    clk, wlan, net, w, seen = make({name: {"rssi": -50, "result": "wrong_password"}}, [name])
    drive(clk, w, lambda w: w.error is not None)
    assert seen[:2] == ["Wi-Fi: connecting to Caf? ?? (1/1)", "Wi-Fi: wrong password for Caf? ??"]
    assert wlan.connects() == [name]  # the real name goes to the driver
    assert clean(b"ab\xffc") == "ab?c"


def test_no_networks_configured():
    clk, wlan, net, w, seen = make({}, [])
    assert w.step() == 60000
    assert seen == ["Wi-Fi: no networks configured"]
    assert w.step() == 60000 and len(seen) == 1
