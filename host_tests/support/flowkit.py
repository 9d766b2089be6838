"""A DeviceFlow against the scripted server on a FakeClock, stepped to its end (both
interpreters): shared by test_device_flow and test_device_flow_errors."""

from fakeclock import FakeClock
from scripting import transport
from devicepair import device_flow as df
from devicepair.client import Client


def client(base, **kw):
    """The Client a flow against the scripted server at ``base`` uses."""
    kw.setdefault("scope", "openid profile offline_access")
    kw.setdefault("client_id", "client-1")
    kw.setdefault("device_authorization_endpoint", base + "/device")
    kw.setdefault("token_endpoint", base + "/token")
    kw.setdefault("refresh_endpoint", kw["token_endpoint"])
    kw.setdefault("allow_insecure_http", True)
    return Client(**kw)


def flow(base, clock=None, **kw):
    return df.DeviceFlow(transport(), clock or FakeClock(), client(base, **kw))


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
