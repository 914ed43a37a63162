"""The facts cache: patient facts reused across hooks for the exact same record.

order-select, order-sign and patient-view for one patient usually carry the same
prefetch. Facts are keyed by `fhir_mappings.fingerprint.record_key` (a hash of
the record's canonical JSON, the date, the rule settings and the mapping
version), so a repeat is served from the cache and a changed record, however
small the change, is a different key: never stale. Drafts are judged per call.

Memory LRU by default (`facts_cache_size`); with `redis_url`, Redis behind the
memory LRU so workers share it. Redis trouble is a miss, never an error. Redis
holds facts (resource references, codes), no names or free text, for
`facts_cache_ttl_seconds`.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Protocol

from pydantic import ValidationError
from redis import asyncio as aioredis
from redis.exceptions import RedisError

from cds_service.settings import Settings
from fhir_mappings.facts import PatientFacts

__all__ = ["FactsCache", "MemoryFactsCache", "RedisFactsCache", "TieredFactsCache", "cache_for"]

log = logging.getLogger("ms_cds.facts_cache")
KEY_PREFIX = "ms-cds:facts:"


class FactsCache(Protocol):
    async def get(self, key: str) -> PatientFacts | None: ...

    async def put(self, key: str, facts: PatientFacts) -> None: ...

    async def close(self) -> None: ...


class MemoryFactsCache:
    """A bounded LRU in this worker (frozen facts are shared safely)."""

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size
        self._items: OrderedDict[str, PatientFacts] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    async def get(self, key: str) -> PatientFacts | None:
        facts = self._items.get(key)
        if facts is not None:
            self._items.move_to_end(key)
        return facts

    async def put(self, key: str, facts: PatientFacts) -> None:
        self._items[key] = facts
        self._items.move_to_end(key)
        while len(self._items) > self.max_size:
            self._items.popitem(last=False)

    async def close(self) -> None:
        self._items.clear()


class RedisFactsCache:
    """Facts as JSON in Redis with a TTL, shared by every worker."""

    def __init__(self, client: aioredis.Redis, ttl_seconds: int, prefix: str = KEY_PREFIX) -> None:
        self.client = client
        self.ttl_seconds = ttl_seconds
        self.prefix = prefix

    @classmethod
    def from_url(
        cls, url: str, ttl_seconds: int, timeout: float, prefix: str = KEY_PREFIX
    ) -> RedisFactsCache:
        client = aioredis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        return cls(client, ttl_seconds, prefix)

    async def get(self, key: str) -> PatientFacts | None:
        try:
            raw = await self.client.get(self.prefix + key)
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("facts cache get failed", extra={"error_type": type(exc).__name__})
            return None
        if raw is None:
            return None
        try:
            return PatientFacts.model_validate_json(raw)
        except ValidationError:
            return None  # written by another version: recompute

    async def put(self, key: str, facts: PatientFacts) -> None:
        try:
            await self.client.set(self.prefix + key, facts.model_dump_json(), ex=self.ttl_seconds)
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("facts cache put failed", extra={"error_type": type(exc).__name__})

    async def close(self) -> None:
        await self.client.aclose()


class TieredFactsCache:
    """Memory first, then the shared cache; a shared hit is kept in memory too."""

    def __init__(self, near: MemoryFactsCache | None, far: FactsCache) -> None:
        self.near = near
        self.far = far

    async def get(self, key: str) -> PatientFacts | None:
        if self.near is not None:
            facts = await self.near.get(key)
            if facts is not None:
                return facts
        facts = await self.far.get(key)
        if facts is not None and self.near is not None:
            await self.near.put(key, facts)
        return facts

    async def put(self, key: str, facts: PatientFacts) -> None:
        if self.near is not None:
            await self.near.put(key, facts)
        await self.far.put(key, facts)

    async def close(self) -> None:
        if self.near is not None:
            await self.near.close()
        await self.far.close()


def cache_for(settings: Settings) -> FactsCache | None:
    """The cache the settings ask for, or None when caching is off."""
    near = MemoryFactsCache(settings.facts_cache_size) if settings.facts_cache_size else None
    if settings.redis_url:
        far = RedisFactsCache.from_url(
            settings.redis_url, settings.facts_cache_ttl_seconds, settings.redis_timeout_seconds
        )
        return TieredFactsCache(near, far) if near is not None else far
    return near
