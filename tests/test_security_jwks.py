"""Issue 17 #9: a JWKS fetch has one deadline; calls whose kid is cached never wait on a refresh."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import respx

from cds_service.auth.jwks import JwksCache, KeysUnavailable
from tests import jwt_support as js

PATH = "/.well-known/jwks.json"
OLD, NEW = js.es384("es-1"), js.es384("es-2")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def keys() -> Iterator[respx.MockRouter]:
    """respx scoped to the JWKS host; any other URL is an error."""
    with respx.mock(base_url=js.ISSUER, assert_all_called=False) as router:
        yield router


def new_cache(client: httpx.AsyncClient, clock: FakeClock, timeout: float = 2.0) -> JwksCache:
    return JwksCache(client, ttl=60, refetch_interval=0, timeout=timeout, clock=clock)


async def test_a_trickling_jwks_server_is_cut_at_one_deadline(keys: respx.MockRouter) -> None:
    """Every byte arrives within a read timeout; the fetch's one deadline still ends it."""
    document = json.dumps(js.jwks(OLD)).encode()
    sent: list[int] = []

    async def trickle() -> AsyncIterator[bytes]:
        for index in range(len(document)):
            await asyncio.sleep(0.02)
            sent.append(index)
            yield document[index : index + 1]

    keys.get(PATH).mock(side_effect=lambda request: httpx.Response(200, content=trickle()))
    async with httpx.AsyncClient() as client:
        cache = new_cache(client, FakeClock(), timeout=0.3)
        with pytest.raises(KeysUnavailable):
            await cache.key(js.JWKS_URL, OLD.kid)
    assert 0 < len(sent) < len(document) // 2


@pytest.mark.parametrize(
    ("content", "encoding"),
    [
        (gzip.compress(gzip.compress(b"\0" * 2**24)), "gzip, gzip"),
        (gzip.compress(b" " * 2**24), "gzip"),
    ],
    ids=["stacked", "bomb"],
)
async def test_compressed_jwks_bombs_are_refused(
    keys: respx.MockRouter, content: bytes, encoding: str
) -> None:
    """A JWKS body is capped in decoded bytes and stacked codings are refused."""

    async def body() -> AsyncIterator[bytes]:
        yield content

    keys.get(PATH).mock(
        side_effect=lambda request: httpx.Response(
            200, content=body(), headers={"content-encoding": encoding}
        )
    )
    async with httpx.AsyncClient() as client:
        with pytest.raises(KeysUnavailable):
            await new_cache(client, FakeClock()).key(js.JWKS_URL, OLD.kid)


class SlowSecondFetch:
    """Answers the old set first; later fetches wait for `release`, then answer the new set."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.waiting = asyncio.Event()
        self.calls = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if self.calls == 1:
            return httpx.Response(200, json=js.jwks(OLD))
        self.waiting.set()
        # Bounded only so that a regression fails instead of hanging the suite.
        await asyncio.wait_for(self.release.wait(), 10)
        return httpx.Response(200, json=js.jwks(NEW))


async def test_cached_kid_does_not_wait_for_an_unknown_kid_refetch(
    keys: respx.MockRouter,
) -> None:
    """While an unknown kid's refetch hangs, calls with a cached kid are answered."""
    server = SlowSecondFetch()
    keys.get(PATH).mock(side_effect=server)
    async with httpx.AsyncClient() as client:
        cache = new_cache(client, FakeClock())
        assert await cache.key(js.JWKS_URL, OLD.kid) is not None
        unknown = asyncio.create_task(cache.key(js.JWKS_URL, NEW.kid))
        await server.waiting.wait()
        cached = [asyncio.create_task(cache.key(js.JWKS_URL, OLD.kid)) for _ in range(5)]
        try:
            done, _ = await asyncio.wait(cached, timeout=5)
            assert done == set(cached) and not unknown.done()
            assert all(task.result() == OLD.jwk() for task in cached)
        finally:
            server.release.set()
        assert await unknown == NEW.jwk()
    assert server.calls == 2


async def test_unknown_kid_waits_at_most_the_deadline_and_keeps_good_keys(
    keys: respx.MockRouter,
) -> None:
    """A refetch that never answers ends at the deadline; the cached keys still serve."""
    server = SlowSecondFetch()
    keys.get(PATH).mock(side_effect=server)
    async with httpx.AsyncClient() as client:
        cache = new_cache(client, FakeClock(), timeout=0.3)
        assert await cache.key(js.JWKS_URL, OLD.kid) is not None
        assert await cache.key(js.JWKS_URL, NEW.kid) is None
        assert await cache.key(js.JWKS_URL, OLD.kid) == OLD.jwk()
        server.release.set()


async def test_concurrent_unknown_kids_share_one_refetch(keys: respx.MockRouter) -> None:
    """Many calls needing the new set cause one refetch (single flight), all answered by it."""
    server = SlowSecondFetch()
    keys.get(PATH).mock(side_effect=server)
    async with httpx.AsyncClient() as client:
        cache = new_cache(client, FakeClock())
        await cache.key(js.JWKS_URL, OLD.kid)
        waiting = [asyncio.create_task(cache.key(js.JWKS_URL, NEW.kid)) for _ in range(10)]
        await server.waiting.wait()
        server.release.set()
        assert await asyncio.gather(*waiting) == [NEW.jwk()] * 10
    assert server.calls == 2


async def test_expired_set_serves_cached_kids_while_it_is_refreshed(
    keys: respx.MockRouter,
) -> None:
    """After the TTL a cached kid is answered at once; the refresh then replaces the set."""
    server = SlowSecondFetch()
    keys.get(PATH).mock(side_effect=server)
    clock = FakeClock()
    async with httpx.AsyncClient() as client:
        cache = new_cache(client, clock)
        await cache.key(js.JWKS_URL, OLD.kid)
        clock.now += 61
        assert await cache.key(js.JWKS_URL, OLD.kid) == OLD.jwk()
        await server.waiting.wait()
        server.release.set()
        assert await cache.key(js.JWKS_URL, NEW.kid) == NEW.jwk()
        assert server.calls == 2
        # Rotated out: no longer served (an unknown kid again, so one more refetch).
        assert await cache.key(js.JWKS_URL, OLD.kid) is None
        await cache.aclose()
