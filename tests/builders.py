"""Small builders for FHIR resources and CDS Hooks requests used across tests."""

from __future__ import annotations

import copy
from typing import Any

PATIENT_ID = "pat-1"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
HCPCS = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"


def patient(birth_date: str = "1990-04-12", pid: str = PATIENT_ID) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "birthDate": birth_date}


def condition(
    cid: str,
    code: str | None = None,
    system: str = SNOMED,
    text: str | None = None,
    clinical: str | None = "active",
    verification: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    concept: dict[str, Any] = {}
    if code:
        concept["coding"] = [{"system": system, "code": code}]
    if text:
        concept["text"] = text
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "id": cid,
        "code": concept,
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        **extra,
    }
    if clinical:
        resource["clinicalStatus"] = {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": clinical,
                }
            ]
        }
    if verification:
        resource["verificationStatus"] = {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                    "code": verification,
                }
            ]
        }
    return resource


def ms_condition(cid: str = "ms-1", code: str = "426373005", **extra: Any) -> dict[str, Any]:
    return condition(cid, code, **extra)


def med_request(
    mid: str,
    text: str | None = None,
    code: str | None = None,
    system: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": mid,
        "status": "draft",
        "intent": "order",
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        **extra,
    }
    if "medicationReference" not in extra:
        concept: dict[str, Any] = {}
        if code:
            concept["coding"] = [{"system": system or HCPCS, "code": code}]
        if text:
            concept["text"] = text
        resource["medicationCodeableConcept"] = concept
    return resource


def service_request(
    sid: str, text: str | None = None, code: str | None = None, system: str = SNOMED, **extra: Any
) -> dict[str, Any]:
    concept: dict[str, Any] = {}
    if code:
        concept["coding"] = [{"system": system, "code": code}]
    if text:
        concept["text"] = text
    return {
        "resourceType": "ServiceRequest",
        "id": sid,
        "status": "draft",
        "intent": "order",
        "code": concept,
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        **extra,
    }


def bundle(*resources: dict[str, Any], kind: str = "searchset") -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": kind,
        "entry": [{"resource": copy.deepcopy(r)} for r in resources],
    }


def hook_request(
    hook: str,
    drafts: list[dict[str, Any]] | None = None,
    selections: list[str] | None = None,
    conditions: list[dict[str, Any]] | None = None,
    patient_resource: dict[str, Any] | None = None,
    **prefetch: Any,
) -> dict[str, Any]:
    """A complete request: every prefetch key present (empty bundles by default)."""
    context: dict[str, Any] = {"userId": "Practitioner/doc-1", "patientId": PATIENT_ID}
    if hook in ("order-select", "order-sign"):
        context["draftOrders"] = bundle(*(drafts or []), kind="collection")
    if hook == "order-select":
        context["selections"] = (
            selections
            if selections is not None
            else [f"{d['resourceType']}/{d['id']}" for d in drafts or []]
        )
    full_prefetch: dict[str, Any] = {
        "patient": patient_resource or patient(),
        "conditions": bundle(*(conditions or [])),
        "medicationRequests": bundle(),
        "medicationStatements": bundle(),
        "medicationAdministrations": bundle(),
        "observations": bundle(),
        "imagingObservations": bundle(),
        "procedures": bundle(),
        "encounters": bundle(),
        "mriReports": bundle(),
        "serviceRequests": bundle(),
    }
    full_prefetch.update(prefetch)
    return {
        "hook": hook,
        "hookInstance": "5f1e7b8a-4c1d-4a8e-9a33-1d2c3b4a5f60",
        "context": context,
        "prefetch": full_prefetch,
    }
