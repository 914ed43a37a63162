"""One service call, from a parsed envelope to the response body; shared by HTTP and CLI.

hook matches the service -> the hook's context (400) -> the drafts judged
(`cards.engine.judge`, on the request as sent) -> only when a rule needs the patient's
record, or a judged order names its product only in a Medication the request lacks:
prefetch resolved, missing data and those Medications fetched in one parallel round,
the drafts judged again (a Medication that cannot be had: judged by its reference's
`display`, the order saying why) -> `conclude` (412 when the record is needed and its required
key cannot be had) -> the cards as CDS Hooks JSON. So an order no rule judges makes no
FHIR call and needs no `patient`; patient-view always reads the record.

`stage` times the stages (parse, prefetch; mapping, rules and render inside the
engine): the HTTP route passes its metrics StageTimer, the CLI nothing.

`warm_up` runs one synthetic call per hook at start-up (made-up ids, no PHI):
fhir.resources imports its nested model classes on first use, and without it the
first call that reads a record pays for those imports (`make bench` measures the
first calls after a cold start).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from datetime import date
from typing import Any

import httpx

from cards.engine import Evaluation, Judgement, StageClock, conclude, evaluate, judge
from cds_hooks import Hook, HookRequest, ServiceDefinition, dump, parse_context
from cds_service.config import Settings
from cds_service.errors import BadRequest
from cds_service.fetch import require_prefetch, resolve_prefetch
from cds_service.fetch.prefetch import NO_SERVER_READ
from cds_service.offload import off_loop
from fhir_mappings.build import PatientRecord

__all__ = ["evaluate_record", "run_service", "warm_up"]

log = logging.getLogger("ms_cds.warmup")


def _untimed(stage: str) -> AbstractContextManager[object]:
    return nullcontext()


async def run_service(
    service: ServiceDefinition,
    request: HookRequest,
    settings: Settings,
    today: date,
    fhir_client: httpx.AsyncClient | None = None,
    stage: StageClock | None = None,
) -> tuple[dict[str, Any], Evaluation]:
    """The response body and evaluation. `fhir_client`: the shared pool for fetching
    missing prefetch (the app's, from its lifespan); None makes a short-lived one.
    `stage`: the stage clock (the HTTP route's metrics timer); None times nothing."""
    stage = stage or _untimed
    if request.hook != service.hook:
        raise BadRequest(
            f"hook '{request.hook[:64]}' does not match service '{service.id}', "
            f"which serves '{service.hook}'",
            expressions=["hook"],
        )
    with stage("parse"):
        context = parse_context(service.hook, request.context)
        draft_orders = getattr(context, "draftOrders", None)
        drafts = draft_orders.model_dump() if draft_orders is not None else None
    selections = getattr(context, "selections", None)
    mapping = settings.mapping_config()
    with stage("prefetch"):
        sent = PatientRecord(context.patientId, request.prefetch or {}, drafts)
        judgement = judge(service.hook, sent, selections, mapping)  # the drafts: small
        references = _medications_to_read(judgement)
        if references and not request.fhirServer:  # nowhere to read them: say so, once
            sent = replace(sent, unread=dict.fromkeys(references, NO_SERVER_READ))
            judgement = judge(service.hook, sent, selections, mapping)
            references = ()
        record = sent
        if judgement.needs_record or references:
            record = await resolve_prefetch(
                request,
                service,
                context.patientId,
                drafts,
                settings,
                fhir_client,
                references=references,
                required=False,
            )
            if references:  # the fetched Medications may make an order MSC or a DMT
                judgement = judge(service.hook, record, selections, mapping)
            if judgement.needs_record:
                require_prefetch(record)
    config = settings.rule_config()
    if judgement.needs_record and _resource_count(record) >= OFF_LOOP_RESOURCES:
        # A large record's mapping would hold the event loop: run it in the CPU pool.
        result = await off_loop(conclude, judgement, record, config, today, mapping, stage)
    else:  # a thread hop costs more than mapping a typical record (see docs/performance.md)
        result = conclude(judgement, record, config, today, mapping, stage)
    with stage("render"):
        body = {"cards": [dump(card) for card in result.cards]}
    return body, result


# Records with at least this many resources are mapped off the event loop.
OFF_LOOP_RESOURCES = 500


def _resource_count(record: PatientRecord) -> int:
    """The resources a record holds (a Bundle's entries count one each)."""
    count = 0
    for value in record.prefetch.values():
        if isinstance(value, dict):
            entries = value.get("entry")
            count += len(entries) if isinstance(entries, list) else 1
    return count


def _medications_to_read(judgement: Judgement) -> tuple[str, ...]:
    """The Medications the drafts reference but the request lacks, when an order is judged."""
    if not judgement.judged:
        return ()
    return tuple(r for r in judgement.unresolved if r.startswith("Medication/"))


def evaluate_record(
    hook: Hook,
    record: PatientRecord,
    settings: Settings,
    today: date,
    selections: Sequence[str] | None = None,
    stage: StageClock = _untimed,
) -> Evaluation:
    """The rules engine on one call's record: facts -> rules -> cards."""
    return evaluate(
        hook,
        record,
        settings.rule_config(),
        today,
        selections=selections,
        mapping=settings.mapping_config(),
        stage=stage,
    )


# --- the start-up warm-up ------------------------------------------------------------

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


def warm_up(settings: Settings, today: date) -> None:
    """Evaluate a synthetic record at each hook; a failure is logged, never fatal."""
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
        for hook in Hook:
            result = evaluate_record(hook, record, settings, today, selections)
            for card in result.cards:
                dump(card)
    except Exception as exc:  # a warm-up must never stop the service from starting
        log.warning("warm-up failed", extra={"error_type": type(exc).__name__})
