"""Keep the app running: step it forever, and restart it safely if it ever raises.

A crash (a bug, MemoryError, a config error) is logged to serial with its traceback, shown on
the screen, and followed by a restart after a pause that doubles up to a minute: never a tight
crash loop, and the restarted app reloads its tokens from flash, so nothing is lost.
The pause resets once the app has run for ten minutes without a crash.
"""

import gc
import sys

BACKOFF_MS = 1000
BACKOFF_MAX_MS = 60000
HEALTHY_MS = 600000


def _print_exc(e):
    try:
        sys.print_exception(e)
    except AttributeError:  # CPython
        import traceback

        traceback.print_exception(e)


def run(make_app, clock, log=print, on_crash=None, max_steps=None):
    """``make_app()`` builds a fresh app; returns only after ``max_steps`` (tests)."""
    backoff = BACKOFF_MS
    steps = 0
    crashes = 0
    while max_steps is None or steps < max_steps:
        app = None
        try:
            app = make_app()
            started = clock.ticks_ms()
            while max_steps is None or steps < max_steps:
                steps += 1
                clock.sleep_ms(app.step())
                if backoff > BACKOFF_MS and \
                        clock.ticks_diff(clock.ticks_ms(), started) > HEALTHY_MS:
                    backoff = BACKOFF_MS
            return crashes
        except KeyboardInterrupt:
            raise
        except Exception as e:  # noqa: BLE001 - the whole point: any crash restarts safely
            crashes += 1
            steps += 1
            app = None
            gc.collect()  # a MemoryError leaves little: free the app before saying why
            msg = getattr(e, "message", None) or "%s: %s" % (type(e).__name__, e)
            try:
                log("crash #%d: %s; restarting in %d s" % (crashes, msg, backoff // 1000))
                _print_exc(e)
            except MemoryError:
                pass  # the restart matters more than the report
            if on_crash is not None:
                try:
                    on_crash(msg)
                except Exception as e2:  # the screen itself may be what failed
                    log("crash screen failed: %r" % e2)
            clock.sleep_ms(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX_MS)
    return crashes
