"""Messy EHR data never breaks the call and never hides an MSC order."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fhir_mappings.resources import ResourcePool, validate_resource
from tests.builders import hook_request, med_request, ms_condition


def test_stu3_dose_quantity_is_dropped_not_fatal() -> None:
    """The spec's STU3-style dosageInstruction.doseQuantity is dropped; the rest validates."""
    raw = med_request(
        "m1", text="MSC", dosageInstruction=[{"text": "once", "doseQuantity": {"value": 1}}]
    )
    resource = validate_resource(raw)
    assert resource.validated
    assert resource.data["dosageInstruction"] == [{"text": "once"}]
    assert [str(n) for n in resource.notes] == [
        "MedicationRequest/m1 dosageInstruction[0].doseQuantity: invalid, dropped"
    ]


def test_unknown_resource_type_is_noted() -> None:
    """An unknown resource type is kept unvalidated and noted by type only."""
    resource = validate_resource({"resourceType": "Wibble", "id": "w", "name": "Jane"})
    assert not resource.validated
    assert str(resource.notes[0]) == "Wibble/w: not an R4 resource type"


def test_notes_never_carry_values() -> None:
    """A parse note names the element, never the offending value."""
    raw = ms_condition(onsetDateTime="Jane Doe born 1970-01-01")
    resource = validate_resource(raw)
    text = " ".join(str(n) for n in resource.notes)
    assert "onsetDateTime" in text and "Jane" not in text and "1970" not in text


def test_pool_validates_each_resource_once() -> None:
    """The pool validates lazily and caches the result per resource."""
    raw = ms_condition()
    pool = ResourcePool([raw])
    assert pool.get(raw) is pool.get(raw)


BROKEN_DRAFTS: dict[str, dict[str, Any]] = {
    "STU3 doseQuantity": med_request(
        "m1",
        text="Mesenchymal stromal cells IV",
        dosageInstruction=[{"doseQuantity": {"value": 1}}],
    ),
    "missing status (unrepairable)": {
        k: v
        for k, v in med_request("m1", text="Mesenchymal stromal cells IV").items()
        if k != "status"
    },
    "bad authoredOn": med_request(
        "m1", text="Mesenchymal stromal cells IV", authoredOn="yesterday"
    ),
    "note with no text": med_request("m1", text="Mesenchymal stromal cells IV", note=[{}]),
}


@pytest.mark.parametrize("draft", BROKEN_DRAFTS.values(), ids=BROKEN_DRAFTS.keys())
def test_invalid_msc_order_still_warned(client: TestClient, draft: dict[str, Any]) -> None:
    """An MSC order that fails R4 validation is still read and warned about."""
    body = hook_request("order-select", drafts=[draft], conditions=[ms_condition()])
    response = client.post("/cds-services/ms-order-select", json=body)
    assert response.status_code == 200
    assert [c["source"]["topic"]["code"] for c in response.json()["cards"]] == ["mscWarning"]


def test_unrelated_garbage_around_the_order_is_ignored(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Unknown types, nutrition orders and broken resources do not stop the warning."""
    drafts = [
        med_request("m1", text="UC-MSC infusion"),
        {
            "resourceType": "NutritionOrder",
            "id": "n1",
            "status": "draft",
            "intent": "order",
            "patient": {"reference": "Patient/pat-1"},
            "dateTime": "2026-11-25",
        },
        {"resourceType": "Wibble", "id": "w1"},
        {"id": "no-type"},
    ]
    broken_condition = {
        "resourceType": "Condition",
        "id": "bad",
        "code": "not a concept",
        "subject": {"reference": "Patient/pat-1"},
    }
    body = hook_request("order-sign", drafts=drafts, conditions=[ms_condition(), broken_condition])
    body["context"]["draftOrders"]["entry"].append("not even an object")
    with caplog.at_level(logging.INFO, logger="ms_cds"):
        response = client.post("/cds-services/ms-order-sign", json=body)
    assert response.status_code == 200
    assert [c["source"]["topic"]["code"] for c in response.json()["cards"]] == ["mscWarning"]
    hook_logs = [r for r in caplog.records if r.name == "ms_cds.request"]
    assert hook_logs and getattr(hook_logs[0], "status", None) == 200
