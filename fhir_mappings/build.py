"""One request's resources -> PatientFacts and DraftOrder facts (the mapping entry point).

`today` is an input (the service's clock, frozen in tests): nothing here reads
the system clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

from fhir_mappings.coding import forget_concepts
from fhir_mappings.conditions import disease_course, disease_onset, ms_diagnoses, relapses
from fhir_mappings.config import MappingConfig
from fhir_mappings.facts import DraftOrder, PatientFacts
from fhir_mappings.medications import dmt_exposures
from fhir_mappings.observations import edss_scores, mri_lesion_counts
from fhir_mappings.orders import draft_order_of
from fhir_mappings.patient import age_of, birth_span
from fhir_mappings.procedures import prior_ahsct
from fhir_mappings.resources import ResourcePool, flatten

__all__ = [
    "DerivedFacts",
    "PatientRecord",
    "build_facts",
    "derive_facts",
    "history_of",
    "patient_facts",
]


@dataclass(frozen=True)
class PatientRecord:
    """What the HTTP edge resolved: prefetch values by key, and the draft orders.

    `prefetch` maps each key to its value (a resource or Bundle), or None for
    "no data". `missing` names keys that could not be had, with why.
    """

    patient_id: str | None
    prefetch: Mapping[str, Any]
    draft_orders: Any = None
    missing: Mapping[str, str] | None = None


@dataclass(frozen=True)
class DerivedFacts:
    """One call's facts: what the rules see, and the part a facts cache may keep."""

    facts: PatientFacts  # the patient's facts plus the drafts' parse notes
    # From the record alone (the same record, the same facts): what a facts cache may
    # keep. None when the record was not read because no rule could use it.
    patient: PatientFacts | None
    orders: list[DraftOrder]
    pool: ResourcePool


def derive_facts(
    record: PatientRecord,
    today: date,
    config: MappingConfig | None = None,
    known: PatientFacts | None = None,
    patient_needed: Callable[[list[DraftOrder]], bool] | None = None,
) -> DerivedFacts:
    """Facts for one call: the patient's (from the prefetch) and the draft orders'.

    `known` is the patient facts already derived from this exact record, date and
    config (a facts cache hit): the prefetch is then not read again. Drafts are
    always judged. `patient_needed(orders)` False: no rule can use the record for
    these orders, so it is not read (the facts then hold only what the request says).
    """
    try:
        return _derive(record, today, config or MappingConfig(), known, patient_needed)
    finally:
        forget_concepts()


def _derive(
    record: PatientRecord,
    today: date,
    config: MappingConfig,
    known: PatientFacts | None,
    patient_needed: Callable[[list[DraftOrder]], bool] | None,
) -> DerivedFacts:
    drafts = flatten(record.draft_orders)
    history = cache(lambda: history_of(record))
    # Drafts first: a reasonReference in a draft usually points into the same bundle;
    # the record is indexed only if a draft references something outside it.
    pool = ResourcePool(drafts, more=history)
    pool.mark_drafts(drafts)
    orders = [o for raw in drafts if (o := draft_order_of(raw, pool, config)) is not None]
    draft_notes = [str(n) for n in pool.notes]
    if known is None and (patient_needed is None or patient_needed(orders)):
        # The patient's facts from the prefetch alone, so they depend on nothing else.
        known = patient_facts(record, ResourcePool(history()), today, config)
    facts = known if known is not None else unread_record(record)
    if draft_notes:
        notes = tuple(_unique([*draft_notes, *facts.parse_notes]))
        facts = facts.model_copy(update={"parse_notes": notes})
    return DerivedFacts(facts=facts, patient=known, orders=orders, pool=pool)


def unread_record(record: PatientRecord) -> PatientFacts:
    """The facts of a record that was not read: only what the request itself says."""
    return PatientFacts(
        patient_ref=f"Patient/{record.patient_id}" if record.patient_id else None,
        unavailable=tuple(record.missing or ()),
        missing_data=tuple(f"{k}: {why}" for k, why in (record.missing or {}).items()),
    )


def build_facts(
    record: PatientRecord, today: date, config: MappingConfig | None = None
) -> tuple[PatientFacts, list[DraftOrder], ResourcePool]:
    derived = derive_facts(record, today, config)
    return derived.facts, derived.orders, derived.pool


def history_of(record: PatientRecord) -> list[dict[str, Any]]:
    """Every resource of the prefetch (Bundles flattened), in key order."""
    history: list[dict[str, Any]] = []
    for value in record.prefetch.values():
        history.extend(flatten(value))
    return history


def patient_facts(
    record: PatientRecord, pool: ResourcePool, today: date, config: MappingConfig
) -> PatientFacts:
    """What the record says about the patient: a function of record, date and config."""
    diagnoses = ms_diagnoses(pool)
    birth = birth_span(pool, record.patient_id)
    edss, edss_notes = edss_scores(pool)
    mri, mri_notes = mri_lesion_counts(pool, config)
    return PatientFacts(
        patient_ref=f"Patient/{record.patient_id}" if record.patient_id else None,
        ms_diagnoses=tuple(diagnoses),
        course=disease_course(diagnoses),
        onset=disease_onset(pool, birth[0] if birth else None),
        age=age_of(pool, record.patient_id, today),
        dmts=tuple(dmt_exposures(pool, config)),
        relapses=tuple(relapses(pool)),
        mri_counts=tuple(mri),
        edss=tuple(edss),
        prior_ahsct=tuple(prior_ahsct(pool)),
        unavailable=tuple(record.missing or ()),
        missing_data=tuple(f"{k}: {why}" for k, why in (record.missing or {}).items()),
        parse_notes=tuple(_unique(str(n) for n in pool.notes)),
        mapping_notes=tuple(_unique([*edss_notes, *mri_notes])),
    )


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
