"""One request's resources -> PatientFacts and DraftOrder facts (the mapping entry point)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from fhir_mappings.conditions import ms_diagnoses
from fhir_mappings.facts import DraftOrder, PatientFacts
from fhir_mappings.orders import draft_order_of
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
    patient: PatientFacts  # derived from the record alone: the same record, the same facts
    orders: list[DraftOrder]
    pool: ResourcePool


def derive_facts(record: PatientRecord, known: PatientFacts | None = None) -> DerivedFacts:
    """Facts for one call: the patient's (from the prefetch) and the draft orders'.

    `known` is the patient facts already derived from this exact record (a facts
    cache hit): the prefetch is then not read again. Drafts are always judged.
    """
    drafts = flatten(record.draft_orders)
    history = history_of(record)
    # Drafts first: a reasonReference in a draft usually points into the same bundle.
    pool = ResourcePool([*drafts, *history])
    orders = [o for raw in drafts if (o := draft_order_of(raw, pool)) is not None]
    draft_notes = [str(n) for n in pool.notes]
    patient = known if known is not None else patient_facts(record, ResourcePool(history))
    facts = patient
    if draft_notes:
        notes = tuple(_unique([*draft_notes, *patient.parse_notes]))
        facts = patient.model_copy(update={"parse_notes": notes})
    return DerivedFacts(facts=facts, patient=patient, orders=orders, pool=pool)


def build_facts(record: PatientRecord) -> tuple[PatientFacts, list[DraftOrder], ResourcePool]:
    derived = derive_facts(record)
    return derived.facts, derived.orders, derived.pool


def history_of(record: PatientRecord) -> list[dict[str, Any]]:
    """Every resource of the prefetch (Bundles flattened), in key order."""
    history: list[dict[str, Any]] = []
    for value in record.prefetch.values():
        history.extend(flatten(value))
    return history


def patient_facts(record: PatientRecord, pool: ResourcePool) -> PatientFacts:
    """What the record says about the patient: a function of the record alone (cacheable)."""
    return PatientFacts(
        patient_ref=f"Patient/{record.patient_id}" if record.patient_id else None,
        ms_diagnoses=tuple(ms_diagnoses(pool)),
        missing_data=tuple(f"{k}: {why}" for k, why in (record.missing or {}).items()),
        parse_notes=tuple(_unique(str(n) for n in pool.notes)),
    )


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
