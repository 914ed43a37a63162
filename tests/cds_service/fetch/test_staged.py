"""Staged fetching: the drafts judged first, the record (and referenced Medications) read
only when a rule needs them, in one parallel round."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import respx
from fastapi.testclient import TestClient

from cards.render import EXPLANATION_KEY
from cds_service.app import create_app
from cds_service.fetch import guard as fhir_guard
from tests.builders import PATIENT_ID, med_request, ms_condition
from tests.conftest import TODAY
from tests.fhir_fakes import (
    BASE,
    OPTIONAL_KEYS,
    fetch_request,
    production,
    public_resolver,
    search_bundle,
)
from tests.jwt_support import signed_headers

MED_ID = "med-msc-1"


@pytest.fixture
def fhir(monkeypatch: pytest.MonkeyPatch) -> Iterator[respx.MockRouter]:
    """respx scoped to the FHIR base URL; every host public."""
    monkeypatch.setattr(fhir_guard, "resolve_host", public_resolver)
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


def _post(body: dict[str, Any], service: str) -> Any:
    app = create_app(production(), clock=lambda: TODAY)
    with TestClient(app) as client:
        path = f"/cds-services/{service}"
        return client.post(path, json=body, headers=signed_headers(path))


def _order(hook: str, order: dict[str, Any], *missing: str) -> dict[str, Any]:
    body = fetch_request(*missing, hook=hook)
    body["context"]["draftOrders"]["entry"] = [{"resource": order}]
    if hook == "order-select":
        body["context"]["selections"] = [f"MedicationRequest/{order['id']}"]
    return body


def test_unjudged_order_without_prefetch_makes_no_fhir_call(fhir: respx.MockRouter) -> None:
    """Amoxicillin order-select with no prefetch at all: 200, no cards, zero FHIR calls."""
    fhir.route().respond(500)
    body = _order("order-select", med_request("m1", text="Amoxicillin 500 mg"), "patient")
    body["prefetch"] = {}
    response = _post(body, "ms-order-select")
    assert response.status_code == 200, response.text
    assert response.json() == {"cards": []}
    assert len(fhir.calls) == 0


def test_unjudged_order_needs_no_patient_even_without_a_server() -> None:
    """No prefetch and no fhirServer: an order no rule judges is still answered, not 412."""
    body = _order("order-sign", med_request("m1", text="Amoxicillin 500 mg"))
    body["prefetch"] = {}
    body.pop("fhirServer")
    body.pop("fhirAuthorization")
    response = _post(body, "ms-order-sign")
    assert response.status_code == 200, response.text
    assert response.json() == {"cards": []}


def test_msc_order_without_patient_and_server_is_still_412() -> None:
    """An MSC order needs the record: its required patient missing, no server -> 412."""
    body = _order("order-sign", med_request("m1", text="Mesenchymal stem cell infusion"))
    body["prefetch"] = {}
    body.pop("fhirServer")
    body.pop("fhirAuthorization")
    response = _post(body, "ms-order-sign")
    assert response.status_code == 412
    assert response.json()["issue"][0]["expression"] == ["prefetch.patient"]


def test_referenced_medication_is_fetched_with_the_record(fhir: respx.MockRouter) -> None:
    """An order naming its MSC product only in Medication/x on the server: the Medication
    is read in the same round as the missing keys, and the mscWarning card follows."""
    order = med_request("m1", medicationReference={"reference": f"Medication/{MED_ID}"})
    medication = fhir.get(f"/Medication/{MED_ID}").respond(
        json={
            "resourceType": "Medication",
            "id": MED_ID,
            "code": {"text": "Mesenchymal stem cell infusion"},
        }
    )
    patient = fhir.get(f"/Patient/{PATIENT_ID}").respond(
        json={"resourceType": "Patient", "id": PATIENT_ID, "birthDate": "1990-01-01"}
    )
    fhir.get("/Condition").respond(json=search_bundle(ms_condition()))
    for path in (
        "/MedicationRequest",
        "/MedicationStatement",
        "/MedicationAdministration",
        "/Observation",
        "/Procedure",
        "/Encounter",
        "/DiagnosticReport",
        "/ServiceRequest",
    ):
        fhir.get(path).respond(json=search_bundle())
    body = _order("order-select", order, "patient", *OPTIONAL_KEYS)
    response = _post(body, "ms-order-select")
    assert response.status_code == 200, response.text
    assert [c["source"]["topic"]["code"] for c in response.json()["cards"]] == ["mscWarning"]
    assert medication.call_count == 1 and patient.call_count == 1
    # one round: the Medication, the Patient and each key, nothing twice
    assert len(fhir.calls) == 2 + len(OPTIONAL_KEYS)


def test_unreadable_medication_is_answered_without_cards(fhir: respx.MockRouter) -> None:
    """The referenced Medication answers 404: the order stays unjudged, 200 and no 412."""
    order = med_request("m1", medicationReference={"reference": f"Medication/{MED_ID}"})
    fhir.get(f"/Medication/{MED_ID}").respond(404, json={"resourceType": "OperationOutcome"})
    fhir.route().respond(404, json={"resourceType": "OperationOutcome"})
    body = _order("order-sign", order, "patient", *OPTIONAL_KEYS)
    response = _post(body, "ms-order-sign")
    assert response.status_code == 200, response.text
    assert response.json() == {"cards": []}


def test_patient_id_sent_as_a_reference_is_fetched_by_its_bare_id(
    fhir: respx.MockRouter,
) -> None:
    """context.patientId "Patient/x": the templates render x, not Patient/Patient/x."""
    patient = fhir.get(f"/Patient/{PATIENT_ID}").respond(
        json={"resourceType": "Patient", "id": PATIENT_ID, "birthDate": "1990-01-01"}
    )
    body = fetch_request("patient")
    body["context"]["patientId"] = f"Patient/{PATIENT_ID}"
    response = _post(body, "ms-patient-view")
    assert response.status_code == 200, response.text
    assert patient.call_count == 1


EPIC_DISPLAY = "MESENCHYMAL STEM CELL (ALLOGENEIC, UMBILICAL CORD) IV INFUSION"


def _epic_order() -> dict[str, Any]:
    reference = {"reference": f"Medication/{MED_ID}", "display": EPIC_DISPLAY}
    return med_request("m1", medicationReference=reference)


def _msc_facts(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    return [
        c["extension"][EXPLANATION_KEY]["facts"]
        for c in response.json()["cards"]
        if c["source"]["topic"]["code"] == "mscWarning"
    ]


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ({"status_code": 404, "json": {"resourceType": "OperationOutcome"}}, "HTTP 404"),
        ({"status_code": 403, "json": {"resourceType": "OperationOutcome"}}, "HTTP 403"),
        ({"status_code": 200, "json": {"resourceType": "Patient", "id": "x"}}, None),
    ],
)
def test_medication_that_cannot_be_read_is_judged_by_its_display(
    fhir: respx.MockRouter, answer: dict[str, Any], why: str | None
) -> None:
    """The Medication read fails (refused, missing, not a Medication): the order is judged by
    its reference's display, warned, and the explanation says why the Medication is missing."""
    fhir.get(f"/Medication/{MED_ID}").respond(**answer)
    fhir.get(f"/Patient/{PATIENT_ID}").respond(json={"resourceType": "Patient", "id": PATIENT_ID})
    fhir.route().respond(json=search_bundle())
    body = _order("order-sign", _epic_order(), "patient", *OPTIONAL_KEYS)
    body["prefetch"]["conditions"] = search_bundle(ms_condition())
    facts = _msc_facts(_post(body, "ms-order-sign"))
    expected = (
        f"not in the request; reading it from the fhirServer failed: {why}"
        if why
        else "not in the request; the fhirServer did not return it"
    )
    assert [f["medicationUnavailable"] for f in facts] == [expected]


def test_slow_medication_read_ends_at_the_call_timeout_and_still_warns(
    fhir: respx.MockRouter,
) -> None:
    """A Medication read slower than the per-call timeout: cut at it, judged by display."""
    import asyncio

    import httpx

    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200, json={})

    fhir.get(f"/Medication/{MED_ID}").mock(side_effect=slow)
    body = _order("order-sign", _epic_order())
    body["prefetch"]["conditions"] = search_bundle(ms_condition())
    app = create_app(production(fhir_call_timeout=0.2), clock=lambda: TODAY)
    with TestClient(app) as client:
        path = "/cds-services/ms-order-sign"
        facts = _msc_facts(client.post(path, json=body, headers=signed_headers(path)))
    assert [f["medicationUnavailable"] for f in facts] == [
        "not in the request; reading it from the fhirServer failed: timeout"
    ]


def test_medication_read_wins_over_its_display(fhir: respx.MockRouter) -> None:
    """The Medication read names baclofen: the MSC-looking display is not what judges."""
    fhir.get(f"/Medication/{MED_ID}").respond(
        json={"resourceType": "Medication", "id": MED_ID, "code": {"text": "Baclofen 10 mg"}}
    )
    body = _order("order-sign", _epic_order())
    assert _msc_facts(_post(body, "ms-order-sign")) == []
