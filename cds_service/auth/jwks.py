"""Signing keys of trusted clients: JWKS fetched with httpx, cached, refetched on rotation.

A JWK Set is fetched once per URL and kept `ttl` seconds. A token naming a `kid`
the cached set lacks triggers one refetch (key rotation without a restart), at
most once per `refetch_interval` per URL, so a flood of made-up `kid`s cannot
turn this service into a load generator against the client's key server. When a
fetch fails the last good set is kept (stale keys beat no keys); with no set at
all the lookup fails with `KeysUnavailable`.
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
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


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
        """The JWK with this `kid` at `url`, or None when the set (after a refetch) lacks it."""
        entry = self._entries.setdefault(url, _Entry())
        async with entry.lock:
            now = self._clock()
            if entry.fetched_at is None or now - entry.fetched_at >= self._ttl:
                await self._refresh(url, entry)
            elif kid not in entry.keys and self._may_refetch(entry, now):
                entry.refetched_at = now
                log.info("unknown kid: refetching JWKS", extra={"jwks_url": url[:200]})
                await self._refresh(url, entry)
            return entry.keys.get(kid)

    def _may_refetch(self, entry: _Entry, now: float) -> bool:
        return entry.refetched_at is None or now - entry.refetched_at >= self._refetch_interval

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
            log.warning("JWKS fetch failed: keeping the cached keys", extra={"jwks_url": url[:200]})
        entry.fetched_at = self._clock()

    async def _fetch(self, url: str) -> dict[str, dict[str, Any]]:
        try:
            response = await self._client.get(
                url,
                timeout=self._timeout,
                follow_redirects=False,
                headers={"Accept": "application/json, application/jwk-set+json"},
            )
        except httpx.HTTPError as exc:
            log.warning(
                "JWKS fetch failed",
                extra={"jwks_url": url[:200], "error_type": type(exc).__name__},
            )
            raise KeysUnavailable from None
        if response.status_code != 200 or len(response.content) > MAX_JWKS_BYTES:
            log.warning(
                "JWKS fetch refused",
                extra={"jwks_url": url[:200], "upstream_status": response.status_code},
            )
            raise KeysUnavailable
        try:
            document = json.loads(response.content)
        except ValueError:
            document = None
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            log.warning("JWKS is not a JWK Set", extra={"jwks_url": url[:200]})
            raise KeysUnavailable
        return index_keys(document)
