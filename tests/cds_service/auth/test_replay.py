"""The jti replay cache: in memory, and shared through Redis between replicas."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest
import redis
import respx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cds_service.auth import MemoryReplayCache, RedisReplayCache
from tests import jwt_support as js
from tests.builders import hook_request

REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_reachable() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


needs_redis = pytest.mark.skipif(not redis_reachable(), reason=f"no Redis reachable at {REDIS_URL}")


async def test_memory_cache_refuses_a_second_use() -> None:
    """A jti is accepted once per issuer; another issuer's same jti is its own."""
    cache = MemoryReplayCache()
    until = time.time() + 300
    assert await cache.first_use("iss-a", "j1", until)
    assert not await cache.first_use("iss-a", "j1", until)
    assert await cache.first_use("iss-b", "j1", until)


async def test_memory_cache_forgets_expired_ids() -> None:
    """Records are dropped once their token has expired, so memory stays bounded."""
    now = [1000.0]
    cache = MemoryReplayCache(clock=lambda: now[0])
    for n in range(50):
        await cache.first_use("iss", f"j{n}", 1100.0)
    assert len(cache) == 50
    now[0] = 1200.0
    await cache.first_use("iss", "late", 1300.0)
    assert len(cache) == 1


@needs_redis
async def test_redis_cache_refuses_a_second_use() -> None:
    """Through Redis a jti is accepted once, and the record expires with the token."""
    cache = RedisReplayCache(REDIS_URL)
    jti = str(uuid.uuid4())
    try:
        assert await cache.first_use(js.ISSUER, jti, time.time() + 30)
        assert not await cache.first_use(js.ISSUER, jti, time.time() + 30)
    finally:
        await cache.close()
    ttl = redis.Redis.from_url(REDIS_URL).ttl(f"ms-cds:jti:{_digest(js.ISSUER, jti)}")
    assert 0 < ttl <= 32


def _digest(issuer: str, jti: str) -> str:
    import hashlib

    return hashlib.sha256(f"{issuer}\x00{jti}".encode()).hexdigest()


@pytest.fixture(scope="module")
def es() -> js.Signer:
    return js.es384("es-1")


@pytest.fixture
def jwks_route(es: js.Signer) -> Iterator[respx.Route]:
    with respx.mock(base_url=js.ISSUER) as router:
        route = router.get("/.well-known/jwks.json")
        route.return_value = httpx.Response(200, json=js.jwks(es))
        yield route


@needs_redis
def test_replay_refused_across_replicas(
    app_factory: Callable[..., FastAPI], es: js.Signer, jwks_route: respx.Route
) -> None:
    """With CDS_REDIS_URL, a token used on one replica is refused on another."""
    settings = js.production_settings(redis_url=REDIS_URL)
    headers = js.bearer(es.token(js.claims()))
    body = hook_request("patient-view")
    with (
        TestClient(app_factory(settings)) as replica_a,
        TestClient(app_factory(settings)) as replica_b,
    ):
        assert replica_a.post(js.SERVICE_PATH, json=body, headers=headers).status_code == 200
        assert replica_b.post(js.SERVICE_PATH, json=body, headers=headers).status_code == 401


def test_redis_down_is_a_503(
    app_factory: Callable[..., FastAPI], es: js.Signer, jwks_route: respx.Route
) -> None:
    """When the shared replay cache is unreachable, a valid call gets 503, not a pass."""
    settings = js.production_settings(redis_url="redis://127.0.0.1:1/0")
    with TestClient(app_factory(settings)) as client:
        token = es.token(js.claims())
        response = client.post(
            js.SERVICE_PATH, json=hook_request("patient-view"), headers=js.bearer(token)
        )
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
