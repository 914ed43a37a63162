"""Start-up warm-up: one synthetic call per hook (made-up ids, no PHI) before serving.

fhir.resources imports its nested model classes on first use: without this the
first call that reads a record pays for those imports (`make bench` measures the
first calls after a cold start).
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from cards.config import RuleConfig
from cards.engine import evaluate
from fhir_mappings.build import PatientRecord
from fhir_mappings.config import MappingConfig

__all__ = ["warm_up"]

log = logging.getLogger("ms_cds.warmup")

_SNOMED = "http://snomed.info/sct"
_REF = {"reference": "Patient/warmup"}


def _concept(code: str, system: str = _SNOMED) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": "warm-up"}], "text": "warm-up"}


def _quantity(value: float) -> dict[str, Any]:
    return {"value": value, "unit": "1", "system": "http://unitsofmeasure.org", "code": "1"}


def _bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": r} for r in resources],
    }


_META = {"versionId": "1", "lastUpdated": "2026-01-01T00:00:00Z"}
_CONDITION = {
    "resourceType": "Condition",
    "id": "w-c",
    "meta": _META,
    "subject": _REF,
    "code": _concept("426373005"),
    "clinicalStatus": _concept("active"),
    "verificationStatus": _concept("confirmed"),
    "category": [_concept("problem-list-item")],
    "onsetDateTime": "2020-01-01",
    "recordedDate": "2020-01-02",
}
_MED_REQUEST = {
    "resourceType": "MedicationRequest",
    "id": "w-mr",
    "meta": _META,
    "status": "active",
    "intent": "order",
    "subject": _REF,
    "authoredOn": "2021-01-01",
    "medicationCodeableConcept": _concept("1876366", "http://www.nlm.nih.gov/research/umls/rxnorm"),
    "requester": {"reference": "Practitioner/w"},
    "dosageInstruction": [
        {"sequence": 1, "text": "x", "doseAndRate": [{"doseQuantity": _quantity(1)}]}
    ],
    "reasonReference": [{"reference": "Condition/w-c"}],
}
_MED_STATEMENT = {
    "resourceType": "MedicationStatement",
    "id": "w-ms",
    "meta": _META,
    "status": "active",
    "subject": _REF,
    "medicationCodeableConcept": _concept("1876366"),
    "effectivePeriod": {"start": "2021-01-01"},
    "dateAsserted": "2021-01-01",
}
_OBSERVATION = {
    "resourceType": "Observation",
    "id": "w-o",
    "meta": _META,
    "status": "final",
    "category": [_concept("survey")],
    "code": _concept("273554001"),
    "subject": _REF,
    "effectiveDateTime": "2022-01-01T00:00:00Z",
    "issued": "2022-01-01T00:00:00Z",
    "valueQuantity": _quantity(2),
    "referenceRange": [{"low": _quantity(0), "high": _quantity(10)}],
}
_PROCEDURE = {
    "resourceType": "Procedure",
    "id": "w-p",
    "meta": _META,
    "status": "completed",
    "code": _concept("234336002"),
    "subject": _REF,
    "performedDateTime": "2019-01-01",
}
_DRAFTS = [
    {
        "resourceType": "MedicationRequest",
        "id": "w-d1",
        "status": "draft",
        "intent": "order",
        "subject": _REF,
        "medicationCodeableConcept": {"text": "Mesenchymal stem cell infusion"},
    },
    {
        "resourceType": "ServiceRequest",
        "id": "w-d2",
        "status": "draft",
        "intent": "order",
        "subject": _REF,
        "code": _concept("234336002"),
    },
    {
        "resourceType": "MedicationRequest",
        "id": "w-d3",
        "status": "draft",
        "intent": "order",
        "subject": _REF,
        "medicationReference": {"reference": "#m"},
        "contained": [{"resourceType": "Medication", "id": "m", "code": _concept("x")}],
    },
]


def warm_up(config: RuleConfig, mapping: MappingConfig, today: date) -> None:
    """Evaluate a synthetic record at each hook."""
    record = PatientRecord(
        patient_id="warmup",
        prefetch={
            "patient": {"resourceType": "Patient", "id": "warmup", "birthDate": "1990-01-01"},
            "conditions": _bundle(_CONDITION),
            "medicationRequests": _bundle(_MED_REQUEST),
            "medicationStatements": _bundle(_MED_STATEMENT),
            "observations": _bundle(_OBSERVATION),
            "procedures": _bundle(_PROCEDURE),
        },
        draft_orders={
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": d} for d in _DRAFTS],
        },
    )
    selections = ["MedicationRequest/w-d1", "ServiceRequest/w-d2"]
    try:
        for hook in ("order-select", "order-sign", "patient-view"):
            result = evaluate(hook, record, config, today, selections=selections, mapping=mapping)
            for card in result.cards:
                card.model_dump(mode="json", exclude_none=True)
    except Exception as exc:  # a warm-up must never stop the service from starting
        log.warning("warm-up failed", extra={"error_type": type(exc).__name__})
