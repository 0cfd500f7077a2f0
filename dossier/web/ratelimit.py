"""A fixed-window counter per key, in memory: enough for one ``dossier serve`` process.

Several processes behind a load balancer each count on their own (so the limit is per
process); a deployment that runs many puts its proxy's rate limit in front as well.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable


class RateLimiter:
    """At most ``limit`` hits per key in each ``window`` seconds.

    Memory is bounded: at most ``max_keys`` keys are remembered, the least recently used
    forgotten first (a forgotten key starts again from zero, which errs towards serving).
    """

    def __init__(self, limit: int, window: float, *, max_keys: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self.max_keys = limit, window, max_keys
        self._clock = clock
        self._hits: OrderedDict[str, tuple[float, int]] = OrderedDict()
        self._lock = threading.Lock()

    def hit(self, key: str) -> int:
        """Count one hit of ``key``: 0 if allowed, else the seconds until it is again."""
        now = self._clock()
        with self._lock:
            start, count = self._hits.pop(key, (now, 0))
            if now - start >= self.window:
                start, count = now, 0
            if count >= self.limit:
                self._hits[key] = (start, count)
                return max(1, math.ceil(start + self.window - now))
            self._hits[key] = (start, count + 1)
            while len(self._hits) > self.max_keys:
                self._hits.popitem(last=False)
            return 0
