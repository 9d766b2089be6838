"""Sliding-window counter of failed attempts (wrong user codes, wrong passwords).

In memory on purpose: a restart forgets it, which is fine for a development server. Memory is
bounded: at most MAX_KEYS keys are tracked; past that, expired keys are dropped first and
then the oldest ones.
"""

import threading
import time

MAX_KEYS = 10000


class AttemptLimiter:
    def __init__(self, limit, window, clock=time.monotonic):
        self.limit = limit
        self.window = window
        self._clock = clock
        self._hits = {}
        self._lock = threading.Lock()

    def _recent(self, key, now):
        hits = [t for t in self._hits.get(key, ()) if now - t < self.window]
        if hits:
            self._hits[key] = hits
        else:
            self._hits.pop(key, None)
        return hits

    def retry_after(self, keys):
        """Whole seconds until another attempt is allowed for all keys (0 = allowed now)."""
        now = self._clock()
        wait = 0.0
        with self._lock:
            for key in keys:
                hits = self._recent(key, now)
                if len(hits) >= self.limit:
                    wait = max(wait, hits[-self.limit] + self.window - now)
        return int(wait) + 1 if wait > 0 else 0

    def hit(self, keys):
        """Record one failed attempt under every key."""
        now = self._clock()
        with self._lock:
            if len(self._hits) >= MAX_KEYS:
                for key in list(self._hits):
                    self._recent(key, now)
                while len(self._hits) >= MAX_KEYS:
                    self._hits.pop(next(iter(self._hits)))
            for key in keys:
                self._hits.setdefault(key, []).append(now)
                del self._hits[key][: -self.limit]
