"""The jti replay cache: a client JWT is good for one call only.

`first_use(issuer, jti, until)` records the token id and says whether this is the
first time it is seen; the record lives until `until` (the token's `exp` plus the
clock leeway), after which the token is refused as expired anyway. In memory by
default (one process); in Redis when `CDS_REDIS_URL` is set, so that several
replicas share it (`SET key NX EXAT`, atomic). Keys are hashes: a jti is
client-chosen and never written anywhere as it came.
"""

from __future__ import annotations

import hashlib
import heapq
import time
from collections.abc import Callable
from typing import Protocol

__all__ = ["MemoryReplayCache", "RedisReplayCache", "ReplayCache", "ReplayCacheUnavailable"]


class ReplayCacheUnavailable(Exception):
    """The shared replay cache cannot be reached: the call cannot be checked."""


class ReplayCache(Protocol):
    async def first_use(self, issuer: str, jti: str, until: float) -> bool: ...

    async def close(self) -> None: ...


def _key(issuer: str, jti: str) -> str:
    digest = hashlib.sha256(f"{issuer}\x00{jti}".encode()).hexdigest()
    return f"ms-cds:jti:{digest}"


class MemoryReplayCache:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._until: dict[str, float] = {}
        self._expiry: list[tuple[float, str]] = []

    def __len__(self) -> int:
        return len(self._until)

    async def first_use(self, issuer: str, jti: str, until: float) -> bool:
        now = self._clock()
        while self._expiry and self._expiry[0][0] <= now:
            _, old = heapq.heappop(self._expiry)
            self._until.pop(old, None)
        key = _key(issuer, jti)
        if key in self._until:
            return False
        self._until[key] = until
        heapq.heappush(self._expiry, (until, key))
        return True

    async def close(self) -> None:
        self._until.clear()
        self._expiry.clear()


class RedisReplayCache:
    def __init__(self, url: str, prefix: str = "", clock: Callable[[], float] = time.time) -> None:
        from redis.asyncio import Redis

        self._redis = Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self._prefix = prefix
        self._clock = clock

    async def first_use(self, issuer: str, jti: str, until: float) -> bool:
        from redis.exceptions import RedisError

        # At least one second, in case the clock passed `until` since the token was checked.
        expire_at = max(int(until) + 1, int(self._clock()) + 1)
        try:
            created = await self._redis.set(
                self._prefix + _key(issuer, jti), b"1", nx=True, exat=expire_at
            )
        except RedisError as exc:
            raise ReplayCacheUnavailable(type(exc).__name__) from None
        return bool(created)

    async def close(self) -> None:
        await self._redis.aclose()
