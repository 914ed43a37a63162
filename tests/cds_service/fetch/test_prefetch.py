"""Missing prefetch is fetched from fhirServer: which keys, how, and every fault."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import respx

from cds_hooks import ServiceDefinition
from cds_service.catalogue import PREFETCH
from cds_service.errors import PrefetchUnavailable
from tests.builders import PATIENT_ID, condition, ms_condition, patient
from tests.fhir_fakes import (
    BASE,
    OPTIONAL_KEYS,
    TOKEN,
    fetch_request,
    production,
    resolve,
    search_bundle,
)

OUTCOME = {
    "resourceType": "OperationOutcome",
    "issue": [{"severity": "error", "code": "not-found"}],
}
SEARCHES = {
    "conditions": "/Condition",
    "medicationRequests": "/MedicationRequest",
    "medicationStatements": "/MedicationStatement",
    "medicationAdministrations": "/MedicationAdministration",
    "observations": "/Observation",
    "procedures": "/Procedure",
    "encounters": "/Encounter",
    "mriReports": "/DiagnosticReport",
    "serviceRequests": "/ServiceRequest",
}


@pytest.fixture
def fhir() -> Iterator[respx.MockRouter]:
    """respx scoped to the FHIR base URL; any other URL is an error."""
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


def serve_all(fhir: respx.MockRouter) -> dict[str, respx.Route]:
    """Routes for every prefetch key, answering with minimal data."""
    routes = {"patient": fhir.get(f"/Patient/{PATIENT_ID}").respond(json=patient())}
    for key, path in SEARCHES.items():
        routes[key] = fhir.get(path, params={"patient": PATIENT_ID}).respond(
            json=search_bundle(), headers={"content-type": "application/fhir+json"}
        )
    return routes


async def test_partial_prefetch_fetches_only_the_missing_keys(fhir: respx.MockRouter) -> None:
    """Keys sent are used as sent; only absent keys are fetched, with the patient id."""
    routes = serve_all(fhir)
    body = fetch_request("observations", "procedures", conditions=search_bundle(ms_condition()))
    record = await resolve(body)
    assert routes["observations"].call_count == 1 and routes["procedures"].call_count == 1
    assert not any(routes[k].called for k in ("patient", "conditions", "medicationRequests"))
    assert record.prefetch["observations"]["resourceType"] == "Bundle"
    assert record.prefetch["conditions"]["entry"][0]["resource"]["id"] == "ms-1"
    assert record.missing == {}


async def test_null_prefetch_is_no_data_and_not_fetched(fhir: respx.MockRouter) -> None:
    """A key sent as null means 'no data': kept as None, not fetched, not a gap."""
    routes = serve_all(fhir)
    record = await resolve(fetch_request(conditions=None))
    assert not any(r.called for r in routes.values())
    assert record.prefetch["conditions"] is None and record.missing == {}


@pytest.mark.parametrize(
    "stand_in",
    [OUTCOME, search_bundle(OUTCOME, OUTCOME)],
    ids=["operation-outcome", "bundle-of-outcomes"],
)
async def test_outcome_stand_in_is_fetched(fhir: respx.MockRouter, stand_in: Any) -> None:
    """An OperationOutcome (or a Bundle of only those) in place of data is fetched."""
    routes = serve_all(fhir)
    routes["conditions"].respond(json=search_bundle(ms_condition()))
    record = await resolve(fetch_request(conditions=stand_in))
    assert routes["conditions"].call_count == 1
    assert record.prefetch["conditions"]["entry"][0]["resource"]["id"] == "ms-1"


async def test_fetch_sends_fhir_accept_and_bearer_token(fhir: respx.MockRouter) -> None:
    """Fetches ask for application/fhir+json and carry the granted access token."""
    routes = serve_all(fhir)
    await resolve(fetch_request("patient"))
    request = routes["patient"].calls.last.request
    assert request.headers["accept"] == "application/fhir+json"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"


async def test_no_authorization_header_without_fhir_authorization(fhir: respx.MockRouter) -> None:
    """Without fhirAuthorization, no Authorization header is sent."""
    routes = serve_all(fhir)
    await resolve(fetch_request("patient", token=False))
    assert "authorization" not in routes["patient"].calls.last.request.headers


async def test_bundle_next_links_are_followed_and_merged(fhir: respx.MockRouter) -> None:
    """Search pages (absolute and relative next links) are merged into one Bundle."""
    serve_all(fhir)
    fhir.get("/Condition", params={"patient": PATIENT_ID}).respond(
        json=search_bundle(condition("c1", "1"), next_url=f"{BASE}/Condition?page=2")
    )
    fhir.get("/Condition", params={"page": "2"}).respond(
        json=search_bundle(condition("c2", "2"), next_url="Condition?page=3")
    )
    fhir.get("/Condition", params={"page": "3"}).respond(json=search_bundle(condition("c3", "3")))
    record = await resolve(fetch_request("conditions"))
    merged = record.prefetch["conditions"]
    assert [e["resource"]["id"] for e in merged["entry"]] == ["c1", "c2", "c3"]
    assert "link" not in merged and record.missing == {}


async def test_page_cap_stops_paging_and_says_so(fhir: respx.MockRouter) -> None:
    """Paging stops at the page cap; what was read is kept and the gap is named."""
    serve_all(fhir)
    fhir.get("/Condition", params={"patient": PATIENT_ID}).respond(
        json=search_bundle(condition("c1", "1"), next_url=f"{BASE}/Condition?page=2")
    )
    page2 = fhir.get("/Condition", params={"page": "2"}).respond(
        json=search_bundle(condition("c2", "2"), next_url=f"{BASE}/Condition?page=3")
    )
    page3 = fhir.get("/Condition", params={"page": "3"}).respond(json=search_bundle())
    record = await resolve(fetch_request("conditions"), production(fhir_max_pages=2))
    assert page2.called and not page3.called
    assert len(record.prefetch["conditions"]["entry"]) == 2
    assert record.missing == {"conditions": "incomplete: more than 2 pages"}


async def test_next_link_to_another_host_is_not_followed(fhir: respx.MockRouter) -> None:
    """A next link to another host is never requested, so the token never goes there."""
    serve_all(fhir)
    fhir.get("/Condition", params={"patient": PATIENT_ID}).respond(
        json=search_bundle(condition("c1", "1"), next_url="https://evil.example/steal?page=2")
    )
    record = await resolve(fetch_request("conditions"))
    assert {call.request.url.host for call in fhir.calls} == {"fhir.example.org"}
    assert len(record.prefetch["conditions"]["entry"]) == 1
    assert record.missing["conditions"] == "incomplete: next page on another host (not followed)"


async def test_redirect_to_another_host_is_not_followed(fhir: respx.MockRouter) -> None:
    """A redirect off the fhirServer host is refused; the key is missing, nothing leaks."""
    serve_all(fhir)
    fhir.get("/Condition", params={"patient": PATIENT_ID}).respond(
        302, headers={"location": "https://evil.example/Condition?patient=pat-1"}
    )
    record = await resolve(fetch_request("conditions"))
    assert {call.request.url.host for call in fhir.calls} == {"fhir.example.org"}
    assert "conditions" not in record.prefetch
    assert record.missing["conditions"] == "redirected to another host (not followed)"


async def test_same_host_redirect_is_followed_with_token(fhir: respx.MockRouter) -> None:
    """A redirect within the fhirServer's origin is followed, carrying the token."""
    serve_all(fhir)
    fhir.get(f"/Patient/{PATIENT_ID}").respond(301, headers={"location": "/r4/Patient/moved"})
    moved = fhir.get("/Patient/moved").respond(json=patient())
    record = await resolve(fetch_request("patient"))
    assert moved.calls.last.request.headers["authorization"] == f"Bearer {TOKEN}"
    assert record.prefetch["patient"]["resourceType"] == "Patient"


async def test_redirect_loop_is_bounded(fhir: respx.MockRouter) -> None:
    """Same-host redirects are followed a few times at most."""
    serve_all(fhir)
    loop = fhir.get(f"/Patient/{PATIENT_ID}").respond(302, headers={"location": "/r4/Patient/x"})
    fhir.get("/Patient/x").respond(302, headers={"location": f"/r4/Patient/{PATIENT_ID}"})
    with pytest.raises(PrefetchUnavailable, match="too many redirects"):
        await resolve(fetch_request("patient"), production(fhir_max_redirects=2))
    assert loop.call_count == 2


async def _chunks(size: int) -> AsyncIterator[bytes]:
    yield b'{"resourceType": "Bundle", "entry": [], "pad": "'
    for _ in range(size // 1024):
        yield b"x" * 1024
    yield b'"}'


FAULTS: dict[str, tuple[dict[str, Any], str]] = {
    "timeout": ({"side_effect": httpx.ReadTimeout("slow")}, "timeout"),
    "connect-error": ({"side_effect": httpx.ConnectError("refused")}, "connection failed"),
    "401": ({"status_code": 401, "json": OUTCOME}, "HTTP 401"),
    "404": ({"status_code": 404, "json": OUTCOME}, "HTTP 404"),
    "500": ({"status_code": 500, "text": "Internal Server Error"}, "HTTP 500"),
    "html-page": (
        {"status_code": 200, "html": "<html><body>Login required</body></html>"},
        "not JSON",
    ),
    "truncated-json": (
        {
            "status_code": 200,
            "content": b'{"resourceType": "Bundle", "entr',
            "headers": {"content-type": "application/fhir+json"},
        },
        "not JSON",
    ),
    "oversized-declared": (
        {"status_code": 200, "content": b"{" + b" " * 4096},
        "response too large",
    ),
    "oversized-streamed": ({"status_code": 200, "stream": _chunks}, "response too large"),
    "outcome-answer": ({"status_code": 200, "json": OUTCOME}, "OperationOutcome"),
    "not-a-resource": ({"status_code": 200, "json": [1, 2]}, "not a FHIR resource"),
}


def _respond(route: respx.Route, fault: dict[str, Any]) -> None:
    fault = dict(fault)
    if "side_effect" in fault:
        route.side_effect = fault["side_effect"]
    elif "stream" in fault:
        route.side_effect = lambda request: httpx.Response(200, content=fault["stream"](4096))
    else:
        route.respond(**fault)


@pytest.mark.parametrize("name", list(FAULTS))
async def test_optional_key_fault_is_a_named_gap(fhir: respx.MockRouter, name: str) -> None:
    """A failing optional key is left out, its reason named; the rest still answers."""
    routes = serve_all(fhir)
    fault, reason = FAULTS[name]
    _respond(routes["conditions"], fault)
    record = await resolve(fetch_request(*OPTIONAL_KEYS), production(fhir_max_response_bytes=2048))
    assert "conditions" not in record.prefetch
    assert reason in record.missing["conditions"]
    assert set(record.missing) == {"conditions"}
    assert record.prefetch["procedures"]["resourceType"] == "Bundle"


@pytest.mark.parametrize("name", ["timeout", "connect-error", "401", "404", "500", "html-page"])
async def test_required_key_fault_is_412_naming_key_and_reason(
    fhir: respx.MockRouter, name: str
) -> None:
    """When the patient cannot be fetched the answer is a 412 naming the key and why."""
    routes = serve_all(fhir)
    fault, reason = FAULTS[name]
    _respond(routes["patient"], fault)
    with pytest.raises(PrefetchUnavailable) as caught:
        await resolve(fetch_request("patient"))
    assert caught.value.expressions == ["prefetch.patient"]
    assert "'patient'" in caught.value.diagnostics[0] and reason in caught.value.diagnostics[0]


async def test_deadline_bounds_the_whole_request(fhir: respx.MockRouter) -> None:
    """A server that never answers is cut off by the request deadline, not waited for."""
    serve_all(fhir)
    never = asyncio.Event()

    async def hang(request: httpx.Request) -> httpx.Response:
        await never.wait()
        raise AssertionError("unreachable")

    fhir.get("/Observation", params={"patient": PATIENT_ID}).mock(side_effect=hang)
    settings = production(fhir_deadline=0.05, fhir_call_timeout=30)
    record = await resolve(fetch_request("observations", "procedures"), settings)
    assert record.missing == {"observations": "deadline exceeded"}
    assert record.prefetch["procedures"]["resourceType"] == "Bundle"


async def test_unresolvable_token_is_not_fetched(fhir: respx.MockRouter) -> None:
    """A template whose token cannot be resolved is not fetched; the gap names the token."""
    serve_all(fhir)
    author = fhir.get("/Practitioner/doc-1").respond(json={"resourceType": "Practitioner"})
    service = ServiceDefinition(
        id="t",
        hook="patient-view",
        title="t",
        description="t",
        prefetch={**PREFETCH, "author": "PractitionerRole/{{userPractitionerRoleId}}"},
    )
    record = await resolve(fetch_request("patient"), service=service)
    assert not author.called and "author" not in record.prefetch
    assert "userPractitionerRoleId" in record.missing["author"]
    assert record.prefetch["patient"]["resourceType"] == "Patient"


async def test_without_fhir_server_optional_gaps_are_named() -> None:
    """No fhirServer: optional missing keys are gaps saying so, not an error."""
    record = await resolve(fetch_request("observations", server=None))
    assert record.missing == {
        "observations": "not in prefetch and no fhirServer was given to fetch it from"
    }


async def test_stand_in_without_fhir_server_says_so() -> None:
    """An OperationOutcome stand-in with no fhirServer is a gap naming the stand-in."""
    record = await resolve(fetch_request(server=None, observations=OUTCOME))
    assert "observations" not in record.prefetch
    assert record.missing == {
        "observations": "prefetch held an OperationOutcome and no fhirServer was given"
    }
