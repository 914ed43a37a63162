"""Resources shaped by other FHIR versions (STU3, R5) never hide an MSC order or fake MS."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.builders import HCPCS, condition, hook_request, med_request, ms_condition


def topics(client: TestClient, body: dict[str, Any], service: str = "ms-order-sign") -> list[str]:
    response = client.post(f"/cds-services/{service}", json=body)
    assert response.status_code == 200, response.text
    return [c["source"]["topic"]["code"] for c in response.json()["cards"]]


def test_r5_medication_concept_is_read(client: TestClient) -> None:
    """An R5 MedicationRequest.medication.concept naming MSC still gets the warning."""
    order = med_request("r5-1")
    del order["medicationCodeableConcept"]
    order["medication"] = {"concept": {"text": "Mesenchymal stromal cells IV"}}
    body = hook_request("order-sign", drafts=[order], conditions=[ms_condition()])
    assert topics(client, body) == ["mscWarning"]


def test_r5_medication_reference_is_followed(client: TestClient) -> None:
    """An R5 medication.reference to a contained Medication is followed."""
    order = med_request(
        "r5-2",
        contained=[
            {
                "resourceType": "Medication",
                "id": "m",
                "code": {"coding": [{"system": HCPCS, "code": "J3402"}]},
            }
        ],
    )
    del order["medicationCodeableConcept"]
    order["medication"] = {"reference": {"reference": "#m"}}
    body = hook_request("order-sign", drafts=[order], conditions=[ms_condition()])
    assert topics(client, body) == ["mscWarning"]


def test_stu3_procedure_request_is_judged(client: TestClient) -> None:
    """An STU3 ProcedureRequest for MSC infusion is judged like a ServiceRequest."""
    order = {
        "resourceType": "ProcedureRequest",
        "id": "pr-1",
        "status": "draft",
        "intent": "order",
        "code": {"text": "UC-MSC infusion"},
        "subject": {"reference": "Patient/pat-1"},
    }
    body = hook_request("order-sign", drafts=[order], conditions=[ms_condition()])
    assert topics(client, body) == ["mscWarning"]


def test_stu3_ahsct_procedure_request_is_not_msc(client: TestClient) -> None:
    """An STU3 ProcedureRequest for AHSCT is never flagged as MSC."""
    order = {
        "resourceType": "ProcedureRequest",
        "id": "pr-2",
        "status": "draft",
        "intent": "order",
        "code": {"text": "Hematopoetic stem cell transplant, not MSC"},
        "subject": {"reference": "Patient/pat-1"},
    }
    body = hook_request("order-sign", drafts=[order], conditions=[ms_condition()])
    assert topics(client, body) == []


def test_stu3_string_refuted_condition_is_not_ms(client: TestClient) -> None:
    """An STU3 Condition with verificationStatus 'refuted' as a string is not MS."""
    refuted = condition("c-stu3", "24700007", clinical=None)
    refuted["verificationStatus"] = "refuted"
    body = hook_request(
        "order-sign", drafts=[med_request("m1", text="MSC infusion")], conditions=[refuted]
    )
    assert topics(client, body) == []


def test_stu3_string_resolved_condition_is_not_ms(client: TestClient) -> None:
    """An STU3 Condition with clinicalStatus 'resolved' as a string is not current MS."""
    resolved = condition("c-stu3b", "24700007", clinical=None)
    resolved["clinicalStatus"] = "resolved"
    body = hook_request(
        "order-sign", drafts=[med_request("m1", text="MSC infusion")], conditions=[resolved]
    )
    assert topics(client, body) == []


def test_stu3_string_active_condition_is_ms(client: TestClient) -> None:
    """An STU3 Condition with clinicalStatus 'active' as a string still counts as MS."""
    active = condition("c-stu3c", "24700007", clinical=None)
    active["clinicalStatus"] = "active"
    body = hook_request(
        "order-sign", drafts=[med_request("m1", text="MSC infusion")], conditions=[active]
    )
    assert topics(client, body) == ["mscWarning"]
