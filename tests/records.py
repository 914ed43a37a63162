"""Builders for a patient's MS record (FHIR R4 JSON) and the facts and cards it yields."""

from __future__ import annotations

import base64
from datetime import date
from typing import Any

from cards.config import RuleConfig
from cards.decision import RuleInput
from cards.engine import evaluate
from cds_hooks import Card
from fhir_mappings.build import PatientRecord, read_patient
from fhir_mappings.config import MappingConfig
from fhir_mappings.facts import PatientFacts
from tests.builders import PATIENT_ID, SNOMED, bundle, condition, patient
from tests.conftest import TODAY

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"
CPT = "http://www.ama-assn.org/go/cpt"
PCS = "http://www.cms.gov/Medicare/Coding/ICD10"
SUBJECT = {"reference": f"Patient/{PATIENT_ID}"}

KEYS = {
    "Patient": "patient",
    "Condition": "conditions",
    "MedicationRequest": "medicationRequests",
    "MedicationStatement": "medicationStatements",
    "MedicationAdministration": "medicationAdministrations",
    "Observation": "observations",
    "Procedure": "procedures",
    "Encounter": "encounters",
    "DiagnosticReport": "mriReports",
}
RADIOLOGY = {"coding": [{"system": "http://loinc.org", "code": "LP29684-5"}]}
MR_BRAIN = {"coding": [{"system": "http://loinc.org", "code": "24587-8"}]}


def concept(text: str | None = None, code: str | None = None, system: str = SNOMED) -> Any:
    out: dict[str, Any] = {}
    if code:
        out["coding"] = [{"system": system, "code": code}]
    if text:
        out["text"] = text
    return out


def observation(
    oid: str,
    text: str | None = None,
    code: str | None = None,
    system: str = SNOMED,
    value: Any = None,
    when: str | None = "2026-06-01",
    **extra: Any,
) -> dict[str, Any]:
    """An Observation; a number `value` goes to valueQuantity unless extra says otherwise."""
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": concept(text, code, system),
        "subject": SUBJECT,
        **extra,
    }
    if when:
        resource["effectiveDateTime"] = when
    if value is not None:
        resource["valueQuantity"] = {"value": value}
    return resource


def edss(oid: str, value: Any, when: str | None = "2026-06-01", **extra: Any) -> dict[str, Any]:
    return observation(oid, code="273554001", value=value, when=when, **extra)


def gd(oid: str, count: int, when: str | None = "2026-06-01") -> dict[str, Any]:
    return observation(oid, "Gd-enhancing lesions", when=when, valueInteger=count)


def new_t2(oid: str, count: int, when: str | None = "2026-06-01") -> dict[str, Any]:
    return observation(oid, "New or enlarging T2 lesions", when=when, valueInteger=count)


def mri_report(
    rid: str,
    conclusion: str | None = None,
    when: str | None = "2026-06-01",
    code: Any = MR_BRAIN,
    text: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """An MRI DiagnosticReport (radiology category); `text` goes to a text/plain
    presentedForm as base64."""
    resource: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "id": rid,
        "status": "final",
        "category": [RADIOLOGY],
        "code": code,
        "subject": SUBJECT,
        **extra,
    }
    if when:
        resource["effectiveDateTime"] = when
    if conclusion is not None:
        resource["conclusion"] = conclusion
    if text is not None:
        data = base64.b64encode(text.encode("utf-8")).decode("ascii")
        resource["presentedForm"] = [{"contentType": "text/plain", "data": data}]
    return resource


def relapse(cid: str, when: str | None = "2026-05-01", **extra: Any) -> dict[str, Any]:
    dated = {"onsetDateTime": when} if when else {}
    return condition(cid, "192929006", clinical="resolved", **dated, **extra)


def rx(
    mid: str,
    text: str | None = None,
    code: str | None = None,
    system: str = RXNORM,
    status: str = "active",
    start: str | None = "2024-01-10",
    **extra: Any,
) -> dict[str, Any]:
    """A MedicationRequest from the record (not a draft)."""
    resource: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": mid,
        "status": status,
        "intent": "order",
        "subject": SUBJECT,
        "medicationCodeableConcept": concept(text, code, system),
        **extra,
    }
    if start:
        resource["authoredOn"] = start
    return resource


def statement(
    sid: str,
    text: str | None = None,
    code: str | None = None,
    system: str = RXNORM,
    status: str = "active",
    start: str | None = "2024-01-10",
    end: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "MedicationStatement",
        "id": sid,
        "status": status,
        "subject": SUBJECT,
        "medicationCodeableConcept": concept(text, code, system),
        **extra,
    }
    period = {k: v for k, v in (("start", start), ("end", end)) if v}
    if period:
        resource["effectivePeriod"] = period
    return resource


def procedure(
    pid: str,
    text: str | None = None,
    code: str | None = None,
    system: str = SNOMED,
    status: str = "completed",
    when: str | None = "2015-03-02",
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Procedure",
        "id": pid,
        "status": status,
        "subject": SUBJECT,
        "code": concept(text, code, system),
    }
    if when:
        resource["performedDateTime"] = when
    return resource


def prefetch_of(
    *resources: dict[str, Any], birth: str | None = "1990-04-12", missing: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Every prefetch key, each a Bundle of the resources of its type; `missing` keys left out."""
    by_key: dict[str, list[dict[str, Any]]] = {key: [] for key in KEYS.values()}
    for resource in resources:
        by_key[KEYS[resource["resourceType"]]].append(resource)
    pat = patient(birth) if birth else {"resourceType": "Patient", "id": PATIENT_ID}
    out: dict[str, Any] = {key: bundle(*items) for key, items in by_key.items()}
    out["patient"] = pat
    for key in missing:
        out.pop(key, None)
    return out


def record_of(
    *resources: dict[str, Any],
    birth: str | None = "1990-04-12",
    missing: tuple[str, ...] = (),
    drafts: list[dict[str, Any]] | None = None,
) -> PatientRecord:
    return PatientRecord(
        patient_id=PATIENT_ID,
        prefetch=prefetch_of(*resources, birth=birth, missing=missing),
        draft_orders=bundle(*drafts, kind="collection") if drafts is not None else None,
        missing={k: "not in prefetch" for k in missing},
    )


def facts_of(
    *resources: dict[str, Any],
    birth: str | None = "1990-04-12",
    missing: tuple[str, ...] = (),
    today: date = TODAY,
    config: MappingConfig | None = None,
) -> PatientFacts:
    return read_patient(record_of(*resources, birth=birth, missing=missing), today, config)


def rule_input(
    facts: PatientFacts,
    hook: str = "patient-view",
    today: date = TODAY,
    config: RuleConfig | None = None,
) -> RuleInput:
    return RuleInput(hook=hook, facts=facts, orders=(), config=config or RuleConfig(), today=today)


def cards_of(
    hook: str,
    *resources: dict[str, Any],
    drafts: list[dict[str, Any]] | None = None,
    birth: str | None = "1990-04-12",
    missing: tuple[str, ...] = (),
    today: date = TODAY,
    config: RuleConfig | None = None,
) -> list[Card]:
    """The cards of one hook call; at order-select every draft is selected."""
    record = record_of(*resources, birth=birth, missing=missing, drafts=drafts)
    selections = [f"{d['resourceType']}/{d['id']}" for d in drafts or []]
    return evaluate(hook, record, config or RuleConfig(), today, selections=selections).cards


def topics(cards: list[Card]) -> list[str | None]:
    return [c.topic for c in cards]


def active_rrms() -> list[dict[str, Any]]:
    """An RRMS record that meets every AHSCT criterion on TODAY (2026-11-25)."""
    return [
        condition("ms-1", "426373005", onsetDateTime="2019-03-01"),
        relapse("relapse-1", "2026-05-01"),
        rx("ocr-1", "ocrelizumab 300 MG in 10 ML Injection", start="2024-01-10"),
        edss("edss-1", 3.0),
        gd("gd-1", 2),
    ]
