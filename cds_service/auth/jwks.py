"""Signing keys of trusted clients: JWKS fetched with httpx, cached, refetched on rotation.

A JWK Set is fetched once per URL and kept `ttl` seconds. A token naming a `kid`
the cached set lacks triggers one refetch (key rotation without a restart), at
most once per `refetch_interval` per URL, so a flood of made-up `kid`s cannot
turn this service into a load generator against the client's key server. When a
fetch fails the last good set is kept (stale keys beat no keys); with no set at
all the lookup fails with `KeysUnavailable`.

Each fetch has one deadline (`timeout`) over connect, headers and the whole body (a
server trickling bytes cannot hold a call longer), and a cap on decoded bytes. One
refresh per URL runs at a time (single flight). A call whose `kid` is cached never
waits for it: only a call that needs the new set (unknown kid, or none yet) does,
for at most the deadline; an expired set keeps serving while it is refreshed in
the background. Log lines name the JWKS host, never the URL.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from cds_service.fetch.decode import ACCEPT_ENCODING, BodyRefused, read_bounded

__all__ = ["JwksCache", "KeysUnavailable", "index_keys"]

log = logging.getLogger("ms_cds.auth")

MAX_JWKS_BYTES = 256 * 1024


class KeysUnavailable(Exception):
    """No JWK Set could be had for a URL (network, status or format); carries no detail."""


def index_keys(jwks: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The signature keys of a JWK Set by `kid` (keys without a kid, or for encryption, drop)."""
    keys: dict[str, dict[str, Any]] = {}
    entries = jwks.get("keys")
    if not isinstance(entries, list):
        return keys
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        kid = entry.get("kid")
        if isinstance(kid, str) and kid and entry.get("use", "sig") == "sig":
            keys.setdefault(kid, entry)
    return keys


@dataclass
class _Entry:
    keys: dict[str, dict[str, Any]] = field(default_factory=dict)
    fetched_at: float | None = None
    refetched_at: float | None = None
    failed_at: float | None = None
    refresh: asyncio.Task[None] | None = None


class JwksCache:
    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        ttl: float,
        refetch_interval: float,
        timeout: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._ttl = ttl
        self._refetch_interval = refetch_interval
        self._timeout = timeout
        self._clock = clock
        self._entries: dict[str, _Entry] = {}

    async def key(self, url: str, kid: str) -> dict[str, Any] | None:
        """The JWK with this `kid` at `url`, or None when the set (after a refetch) lacks it.
        A cached kid never waits: an expired set is refreshed in the background."""
        entry = self._entries.setdefault(url, _Entry())
        now = self._clock()
        expired = entry.fetched_at is None or now - entry.fetched_at >= self._ttl
        if kid in entry.keys:
            if expired:
                self._refresh_soon(url, entry)
            return entry.keys[kid]
        if expired or (entry.refresh is not None and not entry.refresh.done()):
            await self._refreshed(url, entry)  # needed, or already under way: join it
        elif self._may_refetch(entry, now):
            entry.refetched_at = now
            log.info("unknown kid: refetching JWKS", extra={"jwks_host": _host(url)})
            await self._refreshed(url, entry)
        return entry.keys.get(kid)

    async def aclose(self) -> None:
        """Cancels refreshes still running (at shutdown, before the client closes)."""
        tasks = [e.refresh for e in self._entries.values() if e.refresh and not e.refresh.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _may_refetch(self, entry: _Entry, now: float) -> bool:
        return entry.refetched_at is None or now - entry.refetched_at >= self._refetch_interval

    def _refresh_soon(self, url: str, entry: _Entry) -> asyncio.Task[None]:
        """The one refresh of `url` in flight (single flight), started if none is."""
        if entry.refresh is None or entry.refresh.done():
            entry.refresh = asyncio.create_task(self._refresh(url, entry))
            entry.refresh.add_done_callback(_retrieve)
        return entry.refresh

    async def _refreshed(self, url: str, entry: _Entry) -> None:
        # Shielded: a caller giving up does not cancel the refresh others may be awaiting.
        await asyncio.shield(self._refresh_soon(url, entry))

    async def _refresh(self, url: str, entry: _Entry) -> None:
        if entry.fetched_at is None and entry.failed_at is not None:
            # Never fetched successfully: retry no more often than a rotation refetch.
            if self._clock() - entry.failed_at < self._refetch_interval:
                raise KeysUnavailable
        try:
            entry.keys = await self._fetch(url)
        except KeysUnavailable:
            entry.failed_at = self._clock()
            if entry.fetched_at is None:
                raise
            log.warning(
                "JWKS fetch failed: keeping the cached keys", extra={"jwks_host": _host(url)}
            )
        entry.fetched_at = self._clock()

    async def _fetch(self, url: str) -> dict[str, dict[str, Any]]:
        """One fetch under one deadline (connect, headers, body), the decoded body capped."""
        headers = {
            "Accept": "application/json, application/jwk-set+json",
            "Accept-Encoding": ACCEPT_ENCODING,
        }
        try:
            async with (
                asyncio.timeout(self._timeout),
                self._client.stream(
                    "GET", url, timeout=self._timeout, follow_redirects=False, headers=headers
                ) as response,
            ):
                if response.status_code != 200:
                    log.warning(
                        "JWKS fetch refused",
                        extra={"jwks_host": _host(url), "upstream_status": response.status_code},
                    )
                    raise KeysUnavailable
                body = await read_bounded(response, MAX_JWKS_BYTES)
        except (httpx.HTTPError, TimeoutError, BodyRefused) as exc:
            log.warning(
                "JWKS fetch failed",
                extra={"jwks_host": _host(url), "error_type": type(exc).__name__},
            )
            raise KeysUnavailable from None
        try:
            document = json.loads(body)
        except ValueError:
            document = None
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            log.warning("JWKS is not a JWK Set", extra={"jwks_host": _host(url)})
            raise KeysUnavailable
        return index_keys(document)


def _host(url: str) -> str:
    """The JWKS host for log lines (never the URL)."""
    try:
        return httpx.URL(url).host[:100]
    except httpx.InvalidURL:
        return "invalid"


def _retrieve(task: asyncio.Task[None]) -> None:
    # A background refresh's failure is logged in _fetch; mark it retrieved.
    if not task.cancelled():
        task.exception()
