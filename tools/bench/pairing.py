# A full scripted pairing with lib/devicepair, for `make bench` (MicroPython, .mpy).
# argv: BASE_URL TOKEN_PATH. Prints "PAIRED <polls>" on success.
import sys
import gc
from devicepair.http import Transport
from devicepair.device_flow import DeviceFlow, DONE
from devicepair.tokens import TokenStore
from benchclock import Clock


base, path = sys.argv[1], sys.argv[2]
clock = Clock()
flow = DeviceFlow(Transport(allow_insecure_http=True), clock, "bench-client",
                  base + "/device", base + "/token", scope="openid profile offline_access")
flow.start()
for _ in range(50):
    w = flow.step()
    if flow.state != "polling":
        break
    clock.t += w
    gc.collect()
assert flow.state == DONE, flow.error
TokenStore(path, clock=clock).save(flow.tokens)
print("PAIRED", flow.polls)
