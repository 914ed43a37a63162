"""Per-client quotas: token buckets keyed by the verified client (no FastAPI here).

A bucket holds up to `capacity` tokens and refills at `capacity / period` per second;
a call takes what it needs or, when there is not enough, takes nothing and learns how
long to wait (the Retry-After of its 429). The state is this process's memory: with
several workers or replicas each keeps its own buckets, so the limit a client meets
is the configured one times the number of processes it reaches. Keys are client
identities (issuer, or the remote address in development); at most `max_keys` are
kept, the least recently seen forgotten first (a forgotten client starts full).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

__all__ = ["FeedbackQuota", "TokenBuckets"]


class TokenBuckets:
    def __init__(
        self,
        capacity: int,
        period_seconds: float,
        *,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = capacity
        self._rate = capacity / period_seconds
        self._max_keys = max_keys
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str, tokens: int = 1) -> int:
        """0 when `tokens` were taken from `key`'s bucket, else the whole seconds to wait
        before they would be there (nothing taken). More than the capacity counts as the
        capacity: a full bucket always admits."""
        need = min(tokens, self.capacity)
        now = self._clock()
        with self._lock:
            level, updated = self._buckets.pop(key, (float(self.capacity), now))
            level = min(self.capacity, level + (now - updated) * self._rate)
            if level >= need:
                level -= need
                wait = 0
            else:
                wait = max(1, math.ceil((need - level) / self._rate))
            self._buckets[key] = (level, now)
            if len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
        return wait


class FeedbackQuota:
    """Feedback requests per minute and items per hour, per client; 0 turns a limit off."""

    def __init__(
        self,
        requests_per_minute: int,
        items_per_hour: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._requests = (
            TokenBuckets(requests_per_minute, 60.0, clock=clock) if requests_per_minute else None
        )
        self._items = TokenBuckets(items_per_hour, 3600.0, clock=clock) if items_per_hour else None

    def admit_request(self, client: str) -> int:
        """0, or the seconds until `client` may send another feedback request."""
        return self._requests.take(client) if self._requests else 0

    def admit_items(self, client: str, items: int) -> int:
        """0, or the seconds until `client` may store `items` more feedback items."""
        return self._items.take(client, items) if self._items else 0
