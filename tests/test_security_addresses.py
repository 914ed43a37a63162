"""Issue 17 #11: every non-global address is refused, also where Python 3.11 says global."""

from __future__ import annotations

from collections.abc import Iterator

import httpcore
import pytest
import respx

from cds_service.fetch.guard import GuardedBackend, ServerPolicy, ServerRefused, address_refusal
from tests.fhir_fakes import BASE, PUBLIC_IP, fetch_request, resolve

NON_GLOBAL = [
    "fec0::1",  # site-local (RFC 3879): `is_global` is True in 3.11 and 3.13
    "fec0:1234:5678::9",
    "feff:ffff::1",
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of the metadata address
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "64:ff9b:1::a00:1",  # local-use NAT64 (RFC 8215)
    "::ffff:169.254.169.254",  # IPv4-mapped
    "::ffff:0:a9fe:a9fe",  # IPv4-translated
    "::a9fe:a9fe",  # IPv4-compatible
    "2002:a9fe:a9fe::1",  # 6to4 of the metadata address
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    "100.64.0.1",  # shared address space: neither private nor global
    "192.0.2.10",  # documentation
    "198.18.0.1",  # benchmarking
]


@pytest.fixture
def fhir() -> Iterator[respx.MockRouter]:
    """respx scoped to the FHIR base URL; any other URL is an error."""
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


@pytest.mark.parametrize("address", NON_GLOBAL)
def test_non_global_addresses_are_refused(address: str) -> None:
    """Site-local, embedded non-public IPv4 and special ranges are refused by default."""
    assert address_refusal(address, ServerPolicy()) is not None


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("fec0::1", "site-local"),
        ("64:ff9b::7f00:1", "loopback"),
        ("64:ff9b::a9fe:a9fe", "link-local"),
        ("::a9fe:a9fe", "link-local"),
        ("2002:a9fe:a9fe::1", "link-local"),
    ],
)
def test_embedded_ipv4_is_judged_as_ipv4(address: str, why: str) -> None:
    """The reason names what the embedded IPv4 address (or the range) is."""
    refusal = address_refusal(address, ServerPolicy())
    assert refusal is not None and why in refusal


def test_allow_private_opens_site_local_but_not_embedded_link_local() -> None:
    """CDS_FHIR_ALLOW_PRIVATE covers site-local; metadata behind NAT64 stays refused."""
    policy = ServerPolicy(allow_private=True)
    assert address_refusal("fec0::1", policy) is None
    assert address_refusal("64:ff9b::a9fe:a9fe", policy) is not None


@pytest.mark.parametrize("address", [PUBLIC_IP, "2606:4700::1111", "2a00:1450:4001:82a::200e"])
def test_global_addresses_pass(address: str) -> None:
    """Plain public addresses are still allowed."""
    assert address_refusal(address, ServerPolicy()) is None


@pytest.mark.parametrize("address", ["fec0::1", "64:ff9b::7f00:1"])
async def test_name_resolving_to_site_local_is_a_412_with_nothing_sent(
    fhir: respx.MockRouter, address: str
) -> None:
    """A fhirServer name resolving to a site-local (or NAT64 loopback) address is refused."""

    async def resolver(host: str, port: int) -> list[str]:
        return [address]

    fhir.route().respond(json={"resourceType": "Patient", "id": "pat-1"})
    with pytest.raises(ServerRefused) as refused:
        await resolve(fetch_request("patient"), resolver=resolver)
    assert refused.value.status == 412 and address not in str(refused.value)
    assert not fhir.calls


async def test_connect_time_check_refuses_site_local() -> None:
    """A name re-resolving to fec0::/10 at connect time (DNS rebinding) is not connected to."""

    async def rebinding(host: str, port: int) -> list[str]:
        return ["fec0::53"]

    backend = GuardedBackend(ServerPolicy(), resolver=rebinding)
    with pytest.raises(httpcore.ConnectError, match="refused"):
        await backend.connect_tcp("fhir.example.org", 443)
