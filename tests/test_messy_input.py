"""Messy EHR data never breaks the call and never hides an MSC order."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.builders import hook_request, med_request, ms_condition

BROKEN_DRAFTS: dict[str, dict[str, Any]] = {
    "STU3 doseQuantity": med_request(
        "m1",
        text="Mesenchymal stromal cells IV",
        dosageInstruction=[{"doseQuantity": {"value": 1}}],
    ),
    "missing status": {
        k: v
        for k, v in med_request("m1", text="Mesenchymal stromal cells IV").items()
        if k != "status"
    },
    "bad authoredOn": med_request(
        "m1", text="Mesenchymal stromal cells IV", authoredOn="yesterday"
    ),
    "note with no text": med_request("m1", text="Mesenchymal stromal cells IV", note=[{}]),
    "status a list": med_request("m1", text="Mesenchymal stromal cells IV", status=["draft"]),
    "reasonCode an object": med_request(
        "m1", text="Mesenchymal stromal cells IV", reasonCode={"text": "GVHD"}
    ),
    "a coding not an object": med_request(
        "m1",
        text="Mesenchymal stromal cells IV",
        medicationCodeableConcept={"coding": ["J3402", {"code": 7}], "text": "MSC infusion"},
    ),
}


@pytest.mark.parametrize("draft", BROKEN_DRAFTS.values(), ids=BROKEN_DRAFTS.keys())
def test_invalid_msc_order_still_warned(client: TestClient, draft: dict[str, Any]) -> None:
    """An MSC order that is not valid R4 is still read and warned about."""
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


def test_a_damaged_record_around_an_msc_order_is_counted_not_fatal(client: TestClient) -> None:
    """Wrongly typed and undatable elements of the record are skipped and counted by type
    and problem in cds_skipped_invalid_total; the warning still comes."""
    conditions = [
        ms_condition(onsetDateTime="Jane Doe born 1970-01-01", clinicalStatus="active"),
        {"resourceType": "Condition", "id": "c2", "code": {"coding": "G35"}},
    ]
    body = hook_request(
        "order-select", drafts=[med_request("m1", text="MSC infusion")], conditions=conditions
    )
    response = client.post("/cds-services/ms-order-select", json=body)
    assert [c["source"]["topic"]["code"] for c in response.json()["cards"]] == ["mscWarning"]
    text = client.get("/metrics").text
    assert 'cds_skipped_invalid_total{kind="invalid_date",resource_type="Condition"}' in text
    assert 'cds_skipped_invalid_total{kind="wrong_type",resource_type="Condition"}' in text
    # "1970-01" rather than "1970": a Prometheus _created timestamp can hold those digits.
    assert "Jane" not in text and "1970-01" not in text
