# A full scripted pairing with lib/devicepair, for `make bench` (MicroPython, .mpy).
# argv: BASE_URL TOKEN_PATH. Prints "PAIRED <polls>" on success.
import sys
import gc
from devicepair.http import Transport
from devicepair.device_flow import DeviceFlow, DONE
from devicepair.tokens import TokenStore


class Clock:  # no sleeping: time moves when the flow asks to wait
    t = 0

    def ticks_ms(self):
        return self.t

    def ticks_diff(self, a, b):
        return a - b

    def ticks_add(self, a, d):
        return a + d

    def unix_time(self):
        return 1795435200 + self.t // 1000


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
