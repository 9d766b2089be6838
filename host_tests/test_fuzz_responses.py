"""The fuzz run (CPython, hypothesis): over 10,000 generated server responses - status lines,
headers, framings and bodies (JSON of every shape and type for device, token, refresh, error
and who-am-I answers, form bodies, truncations, control characters, huge numbers, deep
nesting) - through the real transport (a fake socket module) into the device flow, the token
session and the whole app. The property and the generator are in support/fuzzwire.py; the
same generator replays a seeded corpus on both interpreters (both/test_fuzz_corpus.py).

Each case is bounded by a 5 s timer (a hang is a failure, not a stuck suite). Raw exceptions
out of http.py are printed as findings for its owner, not failed here (see fuzzwire).
"""

import gc
import signal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fuzzwire as fw

EXAMPLES = 4000  # about 3 generated responses each


class HypChooser:
    """Every choice the generator makes, read from one hypothesis byte string: 1, 2 or 4 bytes
    per choice, the lowest choice once it runs out. One draw per case keeps 4,000 cases
    within seconds (a hypothesis draw per choice took minutes), and hypothesis still shrinks a
    failure by shortening and zeroing those bytes - to the simplest response that fails."""

    def __init__(self, b):
        self.b, self.i = b, 0

    def int(self, lo, hi):
        span = hi - lo + 1
        k = 1 if span <= 256 else 2 if span <= 65536 else 4
        chunk = self.b[self.i:self.i + k]
        self.i += k
        return lo + int.from_bytes(chunk, "big") % span if chunk else lo


class Hang(BaseException):
    pass


def _alarm(signum, frame):
    raise Hang("a fuzz case ran over 5 s")


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(st.binary(max_size=1024))
def _property(data):
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, 5.0)
    try:
        fw.exercise(HypChooser(data))
    except Hang:
        raise AssertionError("hang: a case did not end within 5 s")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def test_fuzz_generated_responses_end_typed_and_inject_nothing():
    fw.GENERATED[0] = 0
    fw.HTTP_FINDINGS.clear()
    # The device flow and the app call gc.collect() before each token request (a board's
    # fragmented heap); with pytest and hypothesis loaded each full collection costs ms.
    # Frozen, the objects already alive are not scanned again: 4,000 cases in seconds.
    gc.freeze()
    try:
        _property()
    finally:
        gc.unfreeze()
    n = fw.GENERATED[0]
    print("fuzz: %d generated server responses in %d cases, 0 unhandled exceptions outside "
          "http.py" % (n, EXAMPLES))
    for k, v in sorted(fw.HTTP_FINDINGS.items()):
        print("fuzz finding for http.py: %s x%d (%s), first input %r" % (k, v[0], v[1],
                                                                        v[2][:160]))
    assert n >= 10000, n
    assert not fw.HTTP_FINDINGS, sorted(fw.HTTP_FINDINGS)  # the transport: typed, too
