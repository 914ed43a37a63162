"""One request's resources -> PatientFacts and DraftOrder facts (the mapping entry point).

`today` is an input (the service's clock, frozen in tests): nothing here reads
the system clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from fhir_mappings.conditions import disease_course, disease_onset, ms_diagnoses, relapses
from fhir_mappings.config import MappingConfig
from fhir_mappings.facts import DraftOrder, PatientFacts
from fhir_mappings.medications import dmt_exposures
from fhir_mappings.observations import edss_scores, mri_lesion_counts
from fhir_mappings.orders import draft_order_of
from fhir_mappings.patient import age_of, birth_span
from fhir_mappings.procedures import prior_ahsct
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


def build_facts(
    record: PatientRecord, today: date, config: MappingConfig | None = None
) -> tuple[PatientFacts, list[DraftOrder], ResourcePool]:
    config = config or MappingConfig()
    drafts = flatten(record.draft_orders)
    history: list[dict[str, Any]] = []
    for value in record.prefetch.values():
        history.extend(flatten(value))
    # Drafts first: a reasonReference in a draft usually points into the same bundle.
    pool = ResourcePool([*drafts, *history])
    pool.mark_drafts(drafts)
    orders = [o for raw in drafts if (o := draft_order_of(raw, pool, config)) is not None]
    diagnoses = ms_diagnoses(pool)
    birth = birth_span(pool, record.patient_id)
    edss, edss_notes = edss_scores(pool)
    mri, mri_notes = mri_lesion_counts(pool, config)
    facts = PatientFacts(
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
    return facts, orders, pool


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
