# The whole firmware for `make bench` (MicroPython, .mpy): firmware/main.make_app exactly as
# a board runs it - config.json and ca.der from the current directory (a fresh temp "flash"
# per run), the bench board module, tokens.json written there. argv: MODE NAME, MODE "fresh"
# (press the button once idle: a pairing) or "stored" (a token on flash: no press), "real"
# (fresh, on the real clock with real sleeps). Success is checked here, explicitly (the
# script is compiled with -O3, which strips assert): the app must reach "paired" without ever
# entering an error state, showing NAME. Exit 0 and "BENCH ok" only then.
import sys
import gc
import benchclock
import benchboard

mode, want = sys.argv[1], sys.argv[2]
clock = benchclock.use_real() if mode == "real" else benchclock.CLOCK
gc.collect()
from main import make_app  # noqa: E402  (firmware/main.py, source, as deploy ships it)

app = make_app(clock, benchboard, "config.json")
pressed = mode == "stored"
why = ""
for _ in range(200000):
    st = app.state
    if st == "idle" and not pressed:
        benchboard.PIN.press()
        pressed = True
    if st == "paired" or st == "error" or st == "denied" or st == "expired":
        break
    w = max(1, app.step())
    if mode == "real":
        clock.sleep_ms(w)
    else:
        clock.t += w
if app.state != "paired":
    why = "ended in state %s" % app.state
elif app.name != want:
    why = "paired, but shows %r instead of %r" % (app.name, want)
gc.collect()
print("BENCH mem_alloc %d" % gc.mem_alloc())
if why:
    print("BENCH failed: " + why)
    sys.exit(1)
print("BENCH ok")
