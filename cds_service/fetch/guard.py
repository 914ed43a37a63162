"""Which FHIR servers the service may talk to, checked before any connection is made.

A client-supplied `fhirServer` is an outbound URL chosen by the caller: without
checks the service would fetch cloud metadata (169.254.169.254), loopback admin
ports or the private network on a caller's behalf (SSRF). The rules:

- https only, unless `fhir_allow_http` (or development mode);
- no dot segments, encoded dots or encoded slashes in the path; when
  `fhir_allowed_servers` is set, the base URL must be one of them (or below one),
  paths compared by segment (`cds_service.fetch.urlpath`);
- every address the host name resolves to (the event loop's getaddrinfo) must be
  global (`is_global`, plus site-local fec0::/10 and local-use NAT64, which
  Python 3.11 counts as global; an IPv4 address embedded in an IPv6 one, mapped,
  NAT64, 6to4, Teredo, is checked as IPv4 too): loopback only when allowed
  (development mode allows it), other non-global ranges only when
  `fhir_allow_private`; link-local (cloud metadata), unspecified, multicast and
  reserved addresses never.

`check_server` runs before a request's first fetch (a refusal is a 412 and no
connection). `GuardedBackend` repeats the address check when a connection is
actually opened and connects to the checked address, so a name that re-resolves
elsewhere between the two (DNS rebinding) still cannot reach a refused address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import select
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpcore
import httpx

from cds_service.errors import PrefetchUnavailable
from cds_service.fetch.urlpath import is_under, path_refusal

if TYPE_CHECKING:
    from cds_service.config.settings import Settings

__all__ = [
    "GuardedBackend",
    "Origin",
    "Resolver",
    "ServerPolicy",
    "ServerRefused",
    "ServerUnreachable",
    "address_refusal",
    "check_server",
    "resolve_host",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class ServerRefused(PrefetchUnavailable):
    """The fhirServer breaks the host rules: 412, and nothing was sent to it."""

    issue_code = "security"


class ServerUnreachable(Exception):
    """The fhirServer's host name does not resolve (a fetch failure, not a refusal)."""


@dataclass(frozen=True)
class ServerPolicy:
    allow_http: bool = False
    allow_loopback: bool = False
    allow_private: bool = False
    allowed_servers: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> ServerPolicy:
        return cls(
            allow_http=settings.fhir_allow_http or settings.dev,
            allow_loopback=settings.fhir_allow_loopback or settings.dev,
            allow_private=settings.fhir_allow_private,
            allowed_servers=tuple(settings.fhir_allowed_servers),
        )


@dataclass(frozen=True)
class Origin:
    """Scheme, host and port: the unit of trust for the token, redirects and `next` links."""

    scheme: str
    host: str
    port: int

    @classmethod
    def of(cls, url: httpx.URL) -> Origin:
        port = url.port or (443 if url.scheme == "https" else 80)
        return cls(url.scheme, url.host.lower(), port)


Resolver = Callable[[str, int], Awaitable[list[str]]]


async def resolve_host(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, from the event loop's getaddrinfo."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ServerUnreachable("host name not resolved") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def address_refusal(address: str, policy: ServerPolicy) -> str | None:
    """Why `address` may not be connected to, or None when it may."""
    try:
        ip: IPAddress = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "not an IP address"
    for embedded in _embedded_ipv4(ip):
        if (why := address_refusal(str(embedded), policy)) is not None:
            return why
    if ip.is_loopback:
        return None if policy.allow_loopback else "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_reserved:
        return "a reserved address"
    if isinstance(ip, ipaddress.IPv6Address) and (ip.is_site_local or ip in _LOCAL_NAT64):
        return None if policy.allow_private else "a site-local or local-use address"
    if ip.is_private or not ip.is_global:
        return None if policy.allow_private else "a private address"
    return None


# Not in Python 3.11's special-purpose lists, yet not global: fec0::/10 (is_site_local,
# checked above) and the local-use NAT64 prefix (RFC 8215), whose IPv4 position varies.
_LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")
# /96 forms whose low 32 bits are an IPv4 address a gateway or stack may reach.
_IPV4_IN_LOW_BITS = tuple(
    ipaddress.IPv6Network(prefix)
    for prefix in (
        "64:ff9b::/96",  # NAT64 well-known prefix (RFC 6052)
        "::ffff:0:0:0/96",  # IPv4-translated (RFC 2765)
        "::/96",  # IPv4-compatible, deprecated (RFC 4291); :: and ::1 are checked as such
    )
)


def _embedded_ipv4(ip: IPAddress) -> Iterable[ipaddress.IPv4Address]:
    """Every IPv4 address `ip` carries (mapped, NAT64, 6to4, Teredo...): each is checked too."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return
    teredo = ip.teredo or ()
    for inner in (ip.ipv4_mapped, ip.sixtofour, *teredo):
        if inner:
            yield inner
    if ip not in (ipaddress.IPv6Address("::"), ipaddress.IPv6Address("::1")):
        for network in _IPV4_IN_LOW_BITS:
            if ip in network:
                yield ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)


async def check_server(
    server: str, policy: ServerPolicy, resolver: Resolver | None = None
) -> Origin:
    """The fhirServer's origin if it may be fetched from; ServerRefused otherwise."""
    try:
        url = httpx.URL(server)
    except (httpx.InvalidURL, TypeError):
        raise ServerRefused("fhirServer is not a valid URL", expressions=["fhirServer"]) from None
    if url.scheme not in ("https", "http") or not url.host:
        raise ServerRefused("fhirServer must be an https URL", expressions=["fhirServer"])
    if url.scheme == "http" and not policy.allow_http:
        raise ServerRefused(
            "fhirServer must use https (http is allowed only in development mode)",
            expressions=["fhirServer"],
        )
    if url.userinfo or url.query or url.fragment:
        raise ServerRefused(
            "fhirServer must be a base URL without credentials, query or fragment",
            expressions=["fhirServer"],
        )
    if path_refusal(url) is not None:
        raise ServerRefused(
            "fhirServer path must not hold dot segments or encoded dots or slashes",
            expressions=["fhirServer"],
        )
    if policy.allowed_servers and not any(
        _is_under(url, httpx.URL(base)) for base in policy.allowed_servers
    ):
        raise ServerRefused(
            "fhirServer is not one of the FHIR servers this service is allowed to use",
            expressions=["fhirServer"],
        )
    origin = Origin.of(url)
    if _is_ip_literal(origin.host):
        addresses = [origin.host]
    else:
        addresses = await (resolver or resolve_host)(origin.host, origin.port)
    for address in addresses or ["none"]:
        if (why := address_refusal(address, policy)) is not None:
            raise ServerRefused(
                f"fhirServer host resolves to {why}; the service does not connect there",
                expressions=["fhirServer"],
            )
    return origin


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _is_under(url: httpx.URL, base: httpx.URL) -> bool:
    return Origin.of(url) == Origin.of(base) and is_under(url, base)


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to addresses the policy allows, re-checked at connect time."""

    def __init__(self, policy: ServerPolicy, resolver: Resolver | None = None) -> None:
        self._policy = policy
        self._resolver = resolver
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await (self._resolver or resolve_host)(host, port)
        except ServerUnreachable as exc:
            raise httpcore.ConnectError("host name not resolved") from exc
        refusals = [address_refusal(a, self._policy) for a in addresses]
        if not addresses or any(refusals):
            raise httpcore.ConnectError("refused: address not allowed by the FHIR host rules")
        stream = await self._inner.connect_tcp(
            addresses[0],
            port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )
        return _PolledStream(stream)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not FHIR servers")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _PolledStream(httpcore.AsyncNetworkStream):
    """The connection as httpcore's own, but "is_readable" asked of the socket directly.

    The pool asks every idle connection whether the server closed it ("is_readable")
    each time it assigns or releases a request, so ~n^2 times for n parallel calls;
    anyio answers by rebuilding a dict of socket attributes (a getpeername call among
    them) each time, a large share of a parallel fetch's CPU. The socket is looked up
    once here and polled as httpcore polls it."""

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._socket: socket.socket | None = inner.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return _PolledStream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> object:
        if info == "is_readable":
            return _is_readable(self._socket)
        return self._inner.get_extra_info(info)


def _is_readable(sock: socket.socket | None) -> bool:
    """httpcore's test: data or EOF waiting on an idle connection means the server
    closed it (or broke HTTP/1.1); a closed socket counts as readable, so it is dropped."""
    if sock is None:
        return False
    if sock.fileno() == -1:
        return True
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))
