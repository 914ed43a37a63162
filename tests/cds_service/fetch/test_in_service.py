"""Fetching in the service: shared client, concurrency, 412 over HTTP, and no leaks to logs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import httpx
import pytest
import respx
from fastapi.testclient import TestClient

from cds_service.app import create_app
from cds_service.fetch import guard as fhir_guard
from cds_service.fetch import new_client
from cds_service.ops.logs import configure_logging
from cds_service.runtime import runtime_of
from tests.builders import PATIENT_ID, med_request, ms_condition
from tests.conftest import TODAY
from tests.fhir_fakes import (
    BASE,
    OPTIONAL_KEYS,
    TOKEN,
    fetch_request,
    production,
    public_resolver,
    resolve,
    search_bundle,
)
from tests.jwt_support import signed_headers

NAME = "Zebediah"  # a patient name that must never reach a log line


@pytest.fixture
def fhir() -> Iterator[respx.MockRouter]:
    """respx scoped to the FHIR base URL."""
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


class OverlapTransport(httpx.AsyncBaseTransport):
    """Answers every request after yielding to the loop; records how many were in flight."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.peak = 0
        self.paths: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        self.paths.append(request.url.path)
        for _ in range(20):
            await asyncio.sleep(0)
        self.in_flight -= 1
        return httpx.Response(200, json=search_bundle())


async def test_every_missing_key_is_fetched_concurrently() -> None:
    """All the missing optional keys are in flight at once over the one shared client."""
    transport = OverlapTransport()
    async with httpx.AsyncClient(transport=transport) as client:
        record = await resolve(fetch_request(*OPTIONAL_KEYS), client=client)
    count = len(OPTIONAL_KEYS)
    assert len(transport.paths) == count and transport.peak == count
    assert record.missing == {}


def _serve(fhir: respx.MockRouter) -> None:
    fhir.get(f"/Patient/{PATIENT_ID}").respond(
        json={"resourceType": "Patient", "id": PATIENT_ID, "name": [{"family": NAME}]}
    )
    fhir.get("/Condition").respond(json=search_bundle(ms_condition()))
    fhir.get("/MedicationRequest").respond(404, json={"resourceType": "OperationOutcome"})
    fhir.get("/MedicationStatement").respond(200, html=f"<html>{NAME}</html>")
    fhir.get("/MedicationAdministration").respond(json=search_bundle())
    fhir.get("/Observation").respond(json=search_bundle())
    fhir.get("/Procedure").respond(json=search_bundle())
    fhir.get("/Encounter").respond(json=search_bundle())
    fhir.get("/DiagnosticReport").respond(json=search_bundle())
    fhir.get("/ServiceRequest").respond(json=search_bundle())


def test_service_fetches_missing_prefetch_over_the_shared_client(
    fhir: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no prefetch at all, the service fetches everything and still answers."""
    monkeypatch.setattr(fhir_guard, "resolve_host", public_resolver)
    _serve(fhir)
    body = fetch_request(
        *(["patient", *OPTIONAL_KEYS]),
        hook="order-select",
    )
    body["context"]["draftOrders"]["entry"] = [{"resource": med_request("m1", text="MSC")}]
    body["context"]["selections"] = ["MedicationRequest/m1"]
    app = create_app(production(), clock=lambda: TODAY)
    with TestClient(app) as client:
        shared = runtime_of(app).fhir_client
        path = "/cds-services/ms-order-select"
        response = client.post(path, json=body, headers=signed_headers(path))
        assert isinstance(shared, httpx.AsyncClient) and runtime_of(app).fhir_client is shared
    assert response.status_code == 200, response.text
    assert [c["source"]["topic"]["code"] for c in response.json()["cards"]] == ["mscWarning"]
    assert len(fhir.calls) == 1 + len(OPTIONAL_KEYS)  # the Patient and each key, once


def test_unfetchable_patient_is_a_412_over_http(
    fhir: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Patient fetch answered 404: 412 OperationOutcome naming prefetch.patient and why."""
    monkeypatch.setattr(fhir_guard, "resolve_host", public_resolver)
    fhir.get(f"/Patient/{PATIENT_ID}").respond(404, json={"resourceType": "OperationOutcome"})
    app = create_app(production(), clock=lambda: TODAY)
    with TestClient(app) as client:
        path = "/cds-services/ms-patient-view"
        response = client.post(path, json=fetch_request("patient"), headers=signed_headers(path))
    assert response.status_code == 412
    issue = response.json()["issue"][0]
    assert issue["code"] == "incomplete" and issue["expression"] == ["prefetch.patient"]
    assert "'patient'" in issue["diagnostics"] and "HTTP 404" in issue["diagnostics"]
    assert TOKEN not in response.text


async def test_token_and_bodies_never_reach_a_log_line(
    fhir: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    """Fetch logs (successes and faults) carry neither the token, a body nor the patient id."""
    _serve(fhir)
    caplog.set_level(logging.DEBUG)
    configure_logging("json", "DEBUG")  # as the entry point does: httpx's URL lines quiet
    ours = logging.getLogger("ms_cds")
    ours.addHandler(caplog.handler)  # configured, the service's logger does not propagate
    try:
        async with new_client(production()) as client:
            record = await resolve(fetch_request("patient", *OPTIONAL_KEYS), client=client)
    finally:
        ours.removeHandler(caplog.handler)
    assert set(record.missing) == {"medicationRequests", "medicationStatements"}
    fetch_lines = [r for r in caplog.records if r.name == "ms_cds.fhir"]
    assert len(fetch_lines) == 1 + len(OPTIONAL_KEYS)
    for entry in caplog.records:
        text = f"{entry.getMessage()} {vars(entry)}"
        assert TOKEN not in text and NAME not in text and PATIENT_ID not in text
