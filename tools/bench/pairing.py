# The core pairing for `make bench` (MicroPython, .mpy): http + device_flow + tokens, no app.
# argv: BASE_URL CA_DER|- TOKEN_PATH. Checked explicitly (the -O3 build strips assert): exit 0
# and "BENCH ok" only when the flow is DONE and the tokens are on flash.
import sys
import gc
from devicepair.http import Transport
from devicepair.device_flow import DeviceFlow, DONE
from devicepair.tokens import TokenStore
from benchclock import CLOCK as clock

base, ca, path = sys.argv[1], sys.argv[2], sys.argv[3]
cadata = None
if ca != "-":
    with open(ca, "rb") as f:
        cadata = f.read()
transport = Transport(cadata=cadata, allow_insecure_http=cadata is None)
ep = {"client_id": "bench-client", "device_authorization_endpoint": base + "/device",
      "token_endpoint": base + "/token", "scope": "openid profile offline_access"}
try:  # one Client object (client.py), where the lib has it
    from devicepair.client import Client

    flow = DeviceFlow(transport, clock, Client(**ep))
except ImportError:
    flow = DeviceFlow(transport, clock, ep["client_id"], ep["device_authorization_endpoint"],
                      ep["token_endpoint"], scope=ep["scope"])
why = ""
try:
    flow.start()
    for _ in range(50):
        w = flow.step()
        if flow.state != "polling":
            break
        clock.t += w
        gc.collect()
    if flow.state == DONE:
        TokenStore(path, clock=clock).save(flow.tokens)
    else:
        why = "flow ended %s: %s" % (flow.state, getattr(flow.error, "message", flow.error))
except Exception as e:  # a crash is a failed run, reported with its reason
    why = "%s: %s" % (type(e).__name__, e)
if why:
    print("BENCH failed: " + why)
    sys.exit(1)
print("BENCH ok")
