"""One request's resources -> PatientFacts and DraftOrder facts (the mapping entry point)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from fhir_mappings.conditions import ms_diagnoses
from fhir_mappings.facts import DraftOrder, PatientFacts
from fhir_mappings.orders import draft_order_of
from fhir_mappings.resources import ResourcePool, flatten

__all__ = ["PatientRecord", "build_facts"]


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


def build_facts(record: PatientRecord) -> tuple[PatientFacts, list[DraftOrder], ResourcePool]:
    drafts = flatten(record.draft_orders)
    history: list[dict[str, Any]] = []
    for value in record.prefetch.values():
        history.extend(flatten(value))
    # Drafts first: a reasonReference in a draft usually points into the same bundle.
    pool = ResourcePool([*drafts, *history])
    orders = [o for raw in drafts if (o := draft_order_of(raw, pool)) is not None]
    facts = PatientFacts(
        patient_ref=f"Patient/{record.patient_id}" if record.patient_id else None,
        ms_diagnoses=tuple(ms_diagnoses(pool)),
        missing_data=tuple(f"{k}: {why}" for k, why in (record.missing or {}).items()),
        parse_notes=tuple(_unique(str(n) for n in pool.notes)),
    )
    return facts, orders, pool


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
