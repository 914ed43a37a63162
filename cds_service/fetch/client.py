"""Fetching prefetch data from the client's FHIR server: parallel, bounded and safe.

- One shared `httpx.AsyncClient` (pooled HTTP/1.1 keep-alive connections, made by
  `new_client`, kept in the app's lifespan); all missing keys fetched at once.
- Per call: one deadline covering connect, headers, body and decoding; a cap on the
  decoded body (streamed and decoded here, one content coding at most:
  `cds_service.fetch.decode`); `Accept: application/fhir+json`;
  `Authorization: Bearer` only when the client granted a token.
- Redirects are never followed by httpx; ones within the fhirServer's base (same
  origin, path below the base path: `cds_service.fetch.urlpath`) are followed here, a few at
  most. Bundle `next` links are followed up to a page cap, within the base only. So
  the token only ever goes below the fhirServer's base URL.
- Every fault becomes a short reason ("timeout", "HTTP 404", "not JSON", ...): no
  URL, no body, no token ever goes into a reason or a log line.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpcore
import httpx

from cds_service.body.jsontext import decode_body
from cds_service.errors import BadRequest
from cds_service.fetch.decode import ACCEPT_ENCODING, BodyRefused, read_bounded
from cds_service.fetch.guard import GuardedBackend, Origin, ServerPolicy
from cds_service.fetch.urlpath import is_under
from cds_service.offload import off_loop
from cds_service.ops.metrics import count_fetch, fetch_outcome

if TYPE_CHECKING:
    from cds_service.config.settings import Settings

__all__ = ["FHIR_JSON", "FetchLimits", "Fetched", "FhirServer", "fetch_all", "new_client"]

log = logging.getLogger("ms_cds.fhir")
FHIR_JSON = "application/fhir+json"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Bodies below this are parsed on the loop (a few ms at most); larger ones in the CPU pool.
INLINE_PARSE_BYTES = 64 * 1024


@dataclass(frozen=True)
class FetchLimits:
    call_timeout: float = 1.5
    max_pages: int = 5
    max_bytes: int = 5_000_000
    max_redirects: int = 3
    # Depth limits as in a request body, where a prefetch value sits two levels down.
    max_depth: int = 254
    element_depth: int = 62

    @classmethod
    def from_settings(cls, settings: Settings) -> FetchLimits:
        return cls(
            settings.fhir_call_timeout,
            settings.fhir_max_pages,
            settings.fhir_max_response_bytes,
            settings.fhir_max_redirects,
            settings.max_json_depth - 2,
            settings.max_element_depth - 2,
        )


@dataclass(frozen=True)
class Fetched:
    """One key's outcome: the data (None if none could be had) and why it is missing or
    incomplete (None when complete). Both can be set: some pages, then a fault."""

    value: dict[str, Any] | None
    gap: str | None = None


class FetchFailed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def new_client(settings: Settings) -> httpx.AsyncClient:
    """The shared FHIR client: pooled, no redirects, no proxies or .netrc from the
    environment, and a connection layer that re-checks every address it connects to."""
    limits = httpx.Limits(
        max_connections=settings.fhir_max_connections,
        max_keepalive_connections=settings.fhir_max_connections,
        keepalive_expiry=30.0,
    )
    # One SSL context (loading the CA bundle is the costly part of making a client),
    # shared by the transport and the guarded pool that replaces the transport's own.
    ssl_context = httpx.create_ssl_context(trust_env=False)
    transport = httpx.AsyncHTTPTransport(verify=ssl_context, limits=limits, trust_env=False)
    transport._pool = httpcore.AsyncConnectionPool(  # the same pool, with the guard
        ssl_context=ssl_context,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=GuardedBackend(ServerPolicy.from_settings(settings)),
    )
    return httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(settings.fhir_call_timeout),
        follow_redirects=False,
        trust_env=False,
    )


class FhirServer:
    """One hook request's view of its fhirServer: base URL, origin, token, limits."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        base: str,
        origin: Origin,
        token: str | None,
        limits: FetchLimits,
    ) -> None:
        self._client = client
        self._base = base.rstrip("/") + "/"
        self._base_url = httpx.URL(self._base)
        self._origin = origin
        self._headers = {"Accept": FHIR_JSON, "Accept-Encoding": ACCEPT_ENCODING}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._limits = limits

    def url(self, relative: str) -> httpx.URL:
        return httpx.URL(self._base + relative.lstrip("/"))

    async def fetch(self, relative: str, progress: _Progress) -> None:
        """Read `relative` (a read or a search), following Bundle `next` links."""
        url = self.url(relative)
        page = await self._get_json(url)
        progress.add(page)
        while (link := _next_link(page)) is not None:
            if progress.pages >= self._limits.max_pages:
                progress.gap = f"incomplete: more than {self._limits.max_pages} pages"
                return
            url = url.join(link)
            if Origin.of(url) != self._origin:
                progress.gap = "incomplete: next page on another host (not followed)"
                return
            if not is_under(url, self._base_url):
                progress.gap = "incomplete: next page outside the FHIR base (not followed)"
                return
            try:
                page = await self._get_json(url)
            except FetchFailed as exc:
                progress.gap = f"incomplete: page {progress.pages + 1}: {exc.reason}"
                return
            if page.get("resourceType") != "Bundle":
                progress.gap = "incomplete: a next page was not a Bundle"
                return
            progress.add(page)

    async def _get_json(self, url: httpx.URL) -> dict[str, Any]:
        for hop in range(self._limits.max_redirects + 1):
            if Origin.of(url) != self._origin:
                raise FetchFailed("redirected to another host (not followed)")
            if not is_under(url, self._base_url):
                raise FetchFailed(
                    "redirected outside the FHIR base (not followed)"
                    if hop
                    else "request path outside the FHIR base"
                )
            try:
                async with asyncio.timeout(self._limits.call_timeout):
                    location, body, media = await self._send(url)
            except (TimeoutError, httpx.TimeoutException):
                raise FetchFailed("timeout") from None
            except httpx.TransportError:
                raise FetchFailed("connection failed") from None
            if location is None:
                if len(body) < INLINE_PARSE_BYTES:  # cheaper than a thread hop
                    return _parse(body, media, self._limits)
                return await off_loop(_parse, body, media, self._limits)  # CPU work, off the loop
            url = url.join(location)
        raise FetchFailed("too many redirects")

    async def _send(self, url: httpx.URL) -> tuple[str | None, bytes, str]:
        """(redirect location, body, media type) of one GET, the body capped."""
        request = self._client.build_request(
            "GET", url, headers=self._headers, timeout=self._limits.call_timeout
        )
        response = await self._client.send(request, stream=True, follow_redirects=False)
        try:
            status = response.status_code
            if status in _REDIRECTS and response.headers.get("location"):
                return response.headers["location"], b"", ""
            if not 200 <= status < 300:
                raise FetchFailed(f"HTTP {status}")
            try:
                body = await read_bounded(response, self._limits.max_bytes)
            except BodyRefused as exc:
                raise FetchFailed(exc.reason) from None
            media = response.headers.get("content-type", "").split(";")[0].strip().lower()
            return None, body, media
        finally:
            await response.aclose()


class _Progress:
    """What one key has so far: kept when a deadline cuts paging short."""

    def __init__(self) -> None:
        self.value: dict[str, Any] | None = None
        self.pages = 0
        self.gap: str | None = None

    def add(self, page: dict[str, Any]) -> None:
        self.pages += 1
        if self.value is None:
            self.value = {k: v for k, v in page.items() if k != "link"}
            return
        entries = page.get("entry")
        if isinstance(entries, list):
            merged = self.value.get("entry")
            self.value["entry"] = [*(merged if isinstance(merged, list) else []), *entries]


def _parse(body: bytes, media: str, limits: FetchLimits) -> dict[str, Any]:
    if media and not media.endswith("json"):
        raise FetchFailed("not JSON")
    try:
        data = decode_body(body, limits.max_depth, limits.element_depth)
    except BadRequest:
        raise FetchFailed("not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
        raise FetchFailed("not a FHIR resource")
    if data["resourceType"] == "OperationOutcome":
        raise FetchFailed("server answered with an OperationOutcome")
    return data


def _next_link(page: dict[str, Any]) -> str | None:
    if page.get("resourceType") != "Bundle" or not isinstance(page.get("link"), list):
        return None
    for link in page["link"]:
        if isinstance(link, dict) and link.get("relation") == "next":
            url = link.get("url")
            return url if isinstance(url, str) and url else None
    return None


async def fetch_all(
    server: FhirServer, paths: Mapping[str, str], deadline: float
) -> dict[str, Fetched]:
    """Every key's path fetched concurrently; all done by `deadline` (event-loop time)."""

    async def one(key: str, path: str) -> Fetched:
        started = time.perf_counter()
        progress = _Progress()
        try:
            async with asyncio.timeout_at(deadline):
                await server.fetch(path, progress)
        except TimeoutError:
            progress.gap = "deadline exceeded"
        except FetchFailed as exc:
            progress.gap = exc.reason
        if progress.value is not None and progress.gap == "deadline exceeded":
            progress.gap = "incomplete: deadline exceeded"
        count_fetch(fetch_outcome(progress.gap))
        log.log(
            logging.DEBUG if progress.gap is None else logging.WARNING,
            "fhir fetch",
            extra={
                "key": key,
                "outcome": progress.gap or "ok",
                "pages": progress.pages,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            },
        )
        return Fetched(progress.value, progress.gap)

    results = await asyncio.gather(*(one(k, p) for k, p in paths.items()))
    return dict(zip(paths, results, strict=True))
