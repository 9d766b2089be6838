"""A DeviceFlow against the scripted server on a FakeClock, stepped to its end (both
interpreters): shared by test_device_flow and test_device_flow_errors."""

from fakeclock import FakeClock
from scripting import transport
from devicepair import device_flow as df


def flow(base, clock=None, **kw):
    clock = clock or FakeClock()
    kw.setdefault("scope", "openid profile offline_access")
    return df.DeviceFlow(transport(), clock, "client-1", base + "/device", base + "/token", **kw)


def run(f, limit=400):
    """Step until finished; returns the list of waits the client asked for."""
    waits = []
    for _ in range(limit):
        w = f.step()
        if f.state != df.POLLING:
            return waits
        waits.append(w)
        f.clock.advance(w)
    raise AssertionError("flow did not finish")
