"""One service call, from a parsed envelope to the response body; shared by HTTP and CLI.

hook matches the service -> the hook's context (400) -> the drafts judged
(`cards.engine.judge`, on the request as sent) -> only when a rule needs the patient's
record, or a judged order names its product only in a Medication the request lacks:
prefetch resolved, missing data and those Medications fetched in one parallel round,
the drafts judged again (a Medication that cannot be had: judged by its reference's
`display`, the order saying why) -> `conclude` (412 when the record is needed and its required
key cannot be had) -> the cards as CDS Hooks JSON. So an order no rule judges makes no
FHIR call and needs no `patient`; patient-view always reads the record.

Bounds (issue 17 #3): more draft orders than `CDS_MAX_DRAFT_ORDERS`, or more resources
than `CDS_MAX_RESOURCES` (sent, then sent plus fetched), is a 413 before that data is
read; each free text is matched up to `CDS_MAX_MATCHED_TEXT_CHARS`
(`fhir_mappings.textcap`); a large body (`OFF_LOOP_BODY_BYTES`), a fetched record or a
large record is read in the CPU pool, not on the event loop; the response holds at most
`CDS_MAX_CARDS` cards and `CDS_MAX_RESPONSE_BYTES` bytes (`bound_cards`).

`stage` times the stages (parse, prefetch; mapping, rules and render inside the
engine): the HTTP route passes its metrics StageTimer, the CLI nothing.

`warm_up` runs one synthetic call per hook at start-up (made-up ids, no PHI), so that
first-use work (value sets and card content loaded, a rule's first evaluation) is done
before serving and a broken rule shows at start-up; it neither builds a proposal
resource nor the MRI text model (both are built on first need). `make bench` measures
the first calls after a cold start.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from datetime import date
from typing import Any

import httpx

from cards.config import RuleConfig
from cards.engine import Evaluation, Judgement, StageClock, conclude, evaluate, judge
from cds_hooks import Card, Hook, HookRequest, ServiceDefinition, dump, parse_context
from cds_service.body import encode_json
from cds_service.config import Settings
from cds_service.errors import BadRequest, PayloadTooLarge
from cds_service.fetch import require_prefetch, resolve_prefetch
from cds_service.fetch.prefetch import NO_SERVER_READ
from cds_service.offload import off_loop
from fhir_mappings.build import PatientRecord
from fhir_mappings.config import MappingConfig
from fhir_mappings.mri_text import load_pipeline, pipeline_ready
from fhir_mappings.reader import flatten
from fhir_mappings.textcap import matched_text_limit

__all__ = ["bound_cards", "evaluate_record", "run_service", "warm_up"]

log = logging.getLogger("ms_cds.warmup")
limits_log = logging.getLogger("ms_cds.limits")


def _untimed(stage: str) -> AbstractContextManager[object]:
    return nullcontext()


async def run_service(
    service: ServiceDefinition,
    request: HookRequest,
    settings: Settings,
    today: date,
    fhir_client: httpx.AsyncClient | None = None,
    stage: StageClock | None = None,
    body_bytes: int = 0,
    configs: tuple[RuleConfig, MappingConfig] | None = None,
) -> tuple[dict[str, Any], Evaluation]:
    """The response body and evaluation (its cards: those returned). `fhir_client`: the
    shared pool for fetching missing prefetch (the app's, from its lifespan); None makes a
    short-lived one. `stage`: the stage clock (the HTTP route's metrics timer); None times
    nothing. `body_bytes`: the request body's size (a large one is read off the loop).
    `configs`: the rules' and mappings' configuration of these settings, made once by the
    caller (the app's Runtime); None makes them from `settings`."""
    rule_config, mapping = configs or (settings.rule_config(), settings.mapping_config())
    with matched_text_limit(settings.max_matched_text_chars):
        result = await _evaluate(
            service,
            request,
            settings,
            today,
            fhir_client,
            stage or _untimed,
            body_bytes,
            rule_config,
            mapping,
        )
    with (stage or _untimed)("render"):
        dumped = [dump(card) for card in result.cards]
        kept = bound_cards(result.cards, dumped, settings.max_cards, settings.max_response_bytes)
    if len(kept) < len(result.cards):
        limits_log.warning(
            "cards withheld: response limit",
            extra={"cards": len(result.cards), "returned": len(kept), "service": service.id},
        )
        result = dataclasses.replace(result, cards=[result.cards[i] for i in kept])
        dumped = [dumped[i] for i in kept]
    return {"cards": dumped}, result


async def _evaluate(
    service: ServiceDefinition,
    request: HookRequest,
    settings: Settings,
    today: date,
    fhir_client: httpx.AsyncClient | None,
    stage: StageClock,
    body_bytes: int,
    config: RuleConfig,
    mapping: MappingConfig,
) -> Evaluation:
    if request.hook != service.hook:
        raise BadRequest(
            f"hook '{request.hook[:64]}' does not match service '{service.id}', "
            f"which serves '{service.hook}'",
            expressions=["hook"],
        )
    # Counted on the context as sent, before the drafts are validated or copied.
    draft_count = _entry_count(request.context.get("draftOrders"))
    if draft_count > settings.max_draft_orders:
        raise PayloadTooLarge(
            f"context.draftOrders: {draft_count} entries; at most {settings.max_draft_orders} "
            "draft orders per request (CDS_MAX_DRAFT_ORDERS)"
        )
    with stage("parse"):
        context = parse_context(service.hook, request.context)
        draft_orders = getattr(context, "draftOrders", None)
        drafts = draft_orders.model_dump() if draft_orders is not None else None
    selections = getattr(context, "selections", None)
    heavy = body_bytes >= OFF_LOOP_BODY_BYTES
    with stage("prefetch"):
        sent = PatientRecord(context.patientId, request.prefetch or {}, drafts)
        _check_resources(_resource_count(sent) + draft_count, settings, "sent")
        if heavy:  # many or long drafts: judged in the CPU pool
            judgement = await off_loop(judge, service.hook, sent, selections, mapping)
        else:  # the drafts of a normal request: small
            judgement = judge(service.hook, sent, selections, mapping)
        references = _medications_to_read(judgement)
        if references and not request.fhirServer:  # nowhere to read them: say so, once
            sent = replace(sent, unread=dict.fromkeys(references, NO_SERVER_READ))
            if heavy:
                judgement = await off_loop(judge, service.hook, sent, selections, mapping)
            else:
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
            _check_resources(_resource_count(record) + draft_count, settings, "sent and fetched")
            if references:  # the fetched Medications may make an order MSC or a DMT
                judgement = judge(service.hook, record, selections, mapping)
            if judgement.needs_record:
                require_prefetch(record)
    if judgement.needs_record:
        await build_text_model(record)
    if judgement.needs_record and (
        heavy or _resource_count(record) >= OFF_LOOP_RESOURCES or _fetched(sent, record)
    ):
        # A large or fetched record's mapping would hold the event loop: the CPU pool.
        return await off_loop(conclude, judgement, record, config, today, mapping, stage)
    # A thread hop costs more than mapping a typical record (see docs/performance.md).
    return conclude(judgement, record, config, today, mapping, stage)


# Request bodies at least this large are read in the CPU pool (a typical call's is a few
# KB; 256 KiB of drafts or text can take the loop tens of milliseconds or more).
OFF_LOOP_BODY_BYTES = 256 * 1024

_SEVERITY = {"critical": 0, "warning": 1, "info": 2}


def bound_cards(
    cards: Sequence[Card], dumped: Sequence[dict[str, Any]], max_cards: int, max_bytes: int
) -> list[int]:
    """The indexes of the cards a response returns, in order: at most `max_cards`, the
    most severe kept (critical, warning, info; each in its order), then the least severe
    withheld until the encoded body fits `max_bytes`. At least one card is kept."""
    order = sorted(range(len(cards)), key=lambda i: (_SEVERITY.get(cards[i].indicator, 3), i))
    kept = order[:max_cards]
    sizes = {i: len(encode_json(dumped[i])) + 1 for i in kept}
    total = len(b'{"cards":[]}') + sum(sizes.values())
    while total > max_bytes and len(kept) > 1:
        total -= sizes[kept.pop()]
    return sorted(kept)


def _entry_count(bundle: object) -> int:
    entries = bundle.get("entry") if isinstance(bundle, dict) else None
    return len(entries) if isinstance(entries, list) else 0


def _check_resources(count: int, settings: Settings, what: str) -> None:
    if count > settings.max_resources:
        raise PayloadTooLarge(
            f"{count} FHIR resources {what} for this request; at most "
            f"{settings.max_resources} (CDS_MAX_RESOURCES)"
        )


def _fetched(sent: PatientRecord, record: PatientRecord) -> bool:
    """Whether the record holds data fetched from the FHIR server (not what was sent)."""
    return any(value is not sent.prefetch.get(key) for key, value in record.prefetch.items())


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


# Keys whose resources the MRI text pipeline reads (report text, imaging Observations).
_TEXT_KEYS = ("mriReports", "imagingObservations")


async def build_text_model(record: PatientRecord) -> None:
    """Builds the MRI text pipeline (medspaCy: a second or more of CPU, ~80 MB) in the CPU
    pool when this record may hold MRI report text and it is not built yet: built on the
    loop it would hold every other call and `/healthz` for that long. Not at start-up: a
    worker answers sooner, and one that never reads a report never pays its memory."""
    if pipeline_ready() or not _may_hold_report_text(record):
        return
    await off_loop(load_pipeline)


def _may_hold_report_text(record: PatientRecord) -> bool:
    """Reports or imaging Observations, or an Observation written as text (an MRI study
    Observation's valueString or note is read like a report: fhir_mappings.observations)."""
    if any(_entry_count(record.prefetch.get(k)) for k in _TEXT_KEYS):
        return True
    return any(
        "valueString" in r or "note" in r for r in flatten(record.prefetch.get("observations"))
    )


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
