"""The fhirServer host guard: no SSRF, https only, allowlist; a refusal is a 412, no connection."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from typing import Any

import httpcore
import httpx
import pytest
import respx
from fastapi.testclient import TestClient

from cds_service.app import create_app
from cds_service.config import Settings
from cds_service.fetch import (
    GuardedBackend,
    ServerPolicy,
    ServerRefused,
    address_refusal,
    new_client,
)
from cds_service.fetch import guard as fhir_guard
from tests.conftest import TODAY
from tests.fhir_fakes import BASE, PUBLIC_IP, fetch_request, production, resolve
from tests.jwt_support import signed_headers


@pytest.fixture
def fhir() -> Iterator[respx.MockRouter]:
    """respx scoped to the FHIR base URL, with nothing routed: any request is an error."""
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("2002:7f00:1::", "loopback"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("10.1.2.3", "private"),
        ("172.16.0.9", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("100.64.0.1", "private"),
        ("0.0.0.0", "unspecified"),  # noqa: S104 (the address under test)
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
    ],
)
def test_non_public_addresses_are_refused(address: str, why: str) -> None:
    """Loopback, link-local (cloud metadata), private and special addresses are refused."""
    refusal = address_refusal(address, ServerPolicy())
    assert refusal is not None and why in refusal


def test_public_address_is_allowed() -> None:
    """A public address passes."""
    assert address_refusal(PUBLIC_IP, ServerPolicy()) is None
    assert address_refusal("2606:4700::1111", ServerPolicy()) is None


def test_policy_settings_open_loopback_and_private_but_never_link_local() -> None:
    """Settings may allow loopback and private ranges; link-local stays refused."""
    policy = ServerPolicy(allow_loopback=True, allow_private=True)
    assert address_refusal("127.0.0.1", policy) is None
    assert address_refusal("10.0.0.1", policy) is None
    assert address_refusal("169.254.169.254", policy) is not None


def test_development_mode_allows_http_and_loopback_only() -> None:
    """Development mode allows http and loopback, not private ranges."""
    policy = ServerPolicy.from_settings(Settings(_env_file=None, dev=True))  # type: ignore[call-arg]
    assert policy.allow_http and policy.allow_loopback and not policy.allow_private


@pytest.mark.parametrize(
    "server",
    [
        "https://127.0.0.1/fhir",
        "https://[::1]/fhir",
        "https://169.254.169.254/latest/meta-data",
        "https://10.0.0.5/fhir",
        "https://[::ffff:127.0.0.1]/fhir",
        "https://0.0.0.0/fhir",
    ],
)
async def test_ssrf_address_literals_are_refused(fhir: respx.MockRouter, server: str) -> None:
    """fhirServer at a loopback, metadata or private address: 412, no request made."""
    with pytest.raises(ServerRefused, match="does not connect there"):
        await resolve(fetch_request("patient", server=server), resolver=None)
    assert not fhir.calls


async def test_name_resolving_to_loopback_is_refused(
    fhir: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A host name that the event loop's resolver maps to 127.0.0.1 is refused."""
    asked: list[str] = []

    async def getaddrinfo(host: str, port: int, **kwargs: Any) -> list[Any]:
        asked.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", getaddrinfo)
    with pytest.raises(ServerRefused, match="loopback"):
        await resolve(fetch_request("patient", server=BASE), resolver=None)
    assert asked == ["fhir.example.org"] and not fhir.calls


async def test_one_bad_address_among_many_is_refused(fhir: respx.MockRouter) -> None:
    """Every resolved address is checked: one metadata address among public ones refuses."""

    async def mixed(host: str, port: int) -> list[str]:
        return [PUBLIC_IP, "169.254.169.254"]

    with pytest.raises(ServerRefused, match="link-local"):
        await resolve(fetch_request("patient"), resolver=mixed)
    assert not fhir.calls


@pytest.mark.parametrize(
    ("server", "needle"),
    [
        ("http://fhir.example.org/r4", "https"),
        ("ftp://fhir.example.org/r4", "https"),
        ("https://user:pw@fhir.example.org/r4", "credentials"),
        ("not a url at all", "https"),
    ],
)
async def test_bad_server_urls_are_refused(
    fhir: respx.MockRouter, server: str, needle: str
) -> None:
    """Plain http (outside development), other schemes and credentials in the URL: 412."""
    with pytest.raises(ServerRefused, match=needle):
        await resolve(fetch_request("patient", server=server))
    assert not fhir.calls


@pytest.mark.parametrize(
    ("server", "allowed"),
    [
        (BASE, True),
        (BASE + "/", True),
        ("https://fhir.example.org/r4/tenant-a", True),
        ("https://fhir.example.org/r4evil", False),
        ("https://other.example.org/r4", False),
        ("https://fhir.example.org:8443/r4", False),
    ],
)
async def test_allowlist_is_enforced_when_set(
    fhir: respx.MockRouter, server: str, allowed: bool
) -> None:
    """With an allowlist, only listed base URLs (or paths below them) are fetched from."""
    settings = production(fhir_allowed_servers=[BASE])
    fhir.route().respond(json={"resourceType": "Patient", "id": "pat-1"})
    if allowed:
        record = await resolve(fetch_request("patient", server=server), settings)
        assert record.prefetch["patient"]["resourceType"] == "Patient"
    else:
        with pytest.raises(ServerRefused, match="not one of"):
            await resolve(fetch_request("patient", server=server), settings)
        assert not fhir.calls


def test_allowlist_reads_a_comma_separated_environment_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """CDS_FHIR_ALLOWED_SERVERS takes a comma-separated list of base URLs."""
    monkeypatch.setenv("CDS_FHIR_ALLOWED_SERVERS", f"{BASE}, https://b.example/fhir")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.fhir_allowed_servers == [BASE, "https://b.example/fhir"]


def test_refused_server_is_a_412_outcome_over_http(
    fhir: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over HTTP, a metadata-address fhirServer is a 412 security OperationOutcome."""
    monkeypatch.setattr(fhir_guard, "resolve_host", _must_not_resolve)
    app = create_app(production(), clock=lambda: TODAY)
    body = fetch_request("patient", server="https://169.254.169.254/fhir")
    with TestClient(app) as client:
        path = "/cds-services/ms-patient-view"
        response = client.post(path, json=body, headers=signed_headers(path))
    assert response.status_code == 412
    issue = response.json()["issue"][0]
    assert issue["code"] == "security" and "fhirServer" in issue["diagnostics"]
    assert issue["expression"] == ["fhirServer"] and not fhir.calls


async def _must_not_resolve(host: str, port: int) -> list[str]:
    raise AssertionError("an IP literal needs no resolution")


async def test_connection_layer_rechecks_addresses() -> None:
    """Even past the pre-flight check, the connection layer refuses a loopback address."""

    async def rebinding(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    backend = GuardedBackend(ServerPolicy(), resolver=rebinding)
    with pytest.raises(httpcore.ConnectError, match="refused"):
        await backend.connect_tcp("fhir.example.org", 443)


async def test_shared_client_connects_through_the_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shared client's transport refuses loopback at connect time (DNS rebinding)."""

    async def rebinding(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    monkeypatch.setattr(fhir_guard, "resolve_host", rebinding)
    async with new_client(production()) as client:
        with pytest.raises(httpx.ConnectError, match="refused"):
            await client.get("https://fhir.example.org/r4/metadata")
