"""The facts cache module on its own (no longer called by the request path; the edge removes it)."""

from __future__ import annotations

import copy
import socket
import uuid
from collections.abc import AsyncIterator

import pytest

from cds_service.facts_cache import (
    MemoryFactsCache,
    RedisFactsCache,
    TieredFactsCache,
    cache_for,
)
from fhir_mappings.build import PatientRecord
from fhir_mappings.facts import Diagnosis, MsCourse, PatientFacts
from fhir_mappings.fingerprint import record_key
from tests.builders import bundle, ms_condition, patient
from tests.conftest import make_settings

REDIS_URL = "redis://127.0.0.1:6379/0"


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.2):
            return True
    except OSError:
        return False


needs_redis = pytest.mark.skipif(not _redis_up(), reason="no Redis on 127.0.0.1:6379")


def _facts(source: str = "Condition/ms-1") -> PatientFacts:
    diagnosis = Diagnosis(
        source=source, course=MsCourse.RELAPSING_REMITTING, matched_by="http://snomed.info/sct|1"
    )
    return PatientFacts(patient_ref="Patient/pat-1", ms_diagnoses=(diagnosis,))


def test_key_follows_content_not_key_order() -> None:
    """The same content in another key order is one key; any changed value is another."""
    prefetch = {"patient": patient(), "conditions": bundle(ms_condition())}
    reordered = {k: dict(reversed(list(v.items()))) for k, v in reversed(list(prefetch.items()))}
    changed = copy.deepcopy(prefetch)
    changed["conditions"]["entry"][0]["resource"]["onsetDateTime"] = "2020-01-01"
    key = record_key(PatientRecord("pat-1", prefetch), "2026-11-25")
    assert key == record_key(PatientRecord("pat-1", reordered), "2026-11-25")
    assert key != record_key(PatientRecord("pat-1", changed), "2026-11-25")
    assert key != record_key(PatientRecord("pat-2", prefetch), "2026-11-25")
    assert key != record_key(PatientRecord("pat-1", prefetch), "2026-11-26")
    assert key != record_key(
        PatientRecord("pat-1", prefetch, missing={"procedures": "x"}), "2026-11-25"
    )


async def test_memory_cache_evicts_least_recently_used() -> None:
    """Beyond its size the LRU drops the entry used longest ago."""
    cache = MemoryFactsCache(2)
    await cache.put("a", _facts("Condition/a"))
    await cache.put("b", _facts("Condition/b"))
    assert await cache.get("a") is not None  # a is now the most recent
    await cache.put("c", _facts("Condition/c"))
    assert await cache.get("b") is None
    assert await cache.get("a") is not None and await cache.get("c") is not None
    assert len(cache) == 2


def test_size_zero_and_no_redis_turns_the_cache_off() -> None:
    """facts_cache_size=0 without redis_url: no cache at all."""
    assert cache_for(make_settings(facts_cache_size=0)) is None
    assert isinstance(cache_for(make_settings()), MemoryFactsCache)


@pytest.fixture
async def redis_cache() -> AsyncIterator[RedisFactsCache]:
    cache = RedisFactsCache.from_url(REDIS_URL, 60, 1.0, prefix=f"ms-cds-test:{uuid.uuid4()}:")
    yield cache
    keys = [k async for k in cache.client.scan_iter(match=cache.prefix + "*")]
    if keys:
        await cache.client.delete(*keys)
    await cache.close()


@needs_redis
async def test_redis_round_trip(redis_cache: RedisFactsCache) -> None:
    """Facts written to Redis come back equal, with a TTL set."""
    facts = _facts()
    await redis_cache.put("k1", facts)
    assert await redis_cache.get("k1") == facts
    assert await redis_cache.get("k2") is None
    assert 0 < await redis_cache.client.ttl(redis_cache.prefix + "k1") <= 60


@needs_redis
async def test_redis_unreadable_entry_is_a_miss(redis_cache: RedisFactsCache) -> None:
    """An entry another version wrote (not PatientFacts JSON) is recomputed, not trusted."""
    await redis_cache.client.set(redis_cache.prefix + "k1", b'{"unexpected": 1}')
    assert await redis_cache.get("k1") is None


@needs_redis
async def test_tiered_cache_shares_through_redis(redis_cache: RedisFactsCache) -> None:
    """A second worker (empty memory) finds what the first put, and keeps it in memory."""
    first = TieredFactsCache(MemoryFactsCache(10), redis_cache)
    await first.put("k1", _facts())
    second_near = MemoryFactsCache(10)
    second = TieredFactsCache(second_near, redis_cache)
    assert await second.get("k1") == _facts()
    assert len(second_near) == 1


async def test_redis_down_is_a_miss_not_an_error() -> None:
    """An unreachable Redis makes get a miss and put a no-op."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cache = RedisFactsCache.from_url(f"redis://127.0.0.1:{port}/0", 60, 0.2)
    assert await cache.get("k1") is None
    await cache.put("k1", _facts())
    await cache.close()


def test_record_key_survives_integers_past_64_bits() -> None:
    """A damaged record with a huge integer still gets a stable key (once a 500)."""
    from fhir_mappings.build import PatientRecord
    from fhir_mappings.fingerprint import record_key

    huge = {"resourceType": "Observation", "id": "o", "valueInteger": 10**30}
    record = PatientRecord(patient_id="p", prefetch={"observations": huge})
    assert record_key(record) == record_key(record)
    other = PatientRecord(patient_id="p", prefetch={"observations": {**huge, "valueInteger": 1}})
    assert record_key(record) != record_key(other)
