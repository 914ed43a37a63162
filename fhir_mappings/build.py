"""The mapping entry points: a request's draft orders -> DraftOrder facts, and the
patient's record -> PatientFacts. Each reads its resources once, through one
`Resources` index made for that read (nothing outlives it).

The same resource sent twice (the same 'Type/id', or identical content without an id,
as two searches or two pages can return it) is read once.

`today` is an input (the service's clock, frozen in tests): nothing here reads
the system clock.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from fhir_mappings.conditions import disease_course, read_conditions
from fhir_mappings.config import MappingConfig
from fhir_mappings.edss import split_by_relapse
from fhir_mappings.encounters import relapse_visits
from fhir_mappings.facts import DraftOrder, ParseNote, PatientFacts
from fhir_mappings.imaging import read_imaging
from fhir_mappings.labs import labs_of, pregnancy_of
from fhir_mappings.medications import DmtMemo, read_medications
from fhir_mappings.msc_record import gvhd_conditions, msc_orders_in_record
from fhir_mappings.observations import read_observations
from fhir_mappings.onset import disease_onset
from fhir_mappings.orders import draft_order_of
from fhir_mappings.patient import age_of, birth_span, deceased_of
from fhir_mappings.procedures import prior_ahsct
from fhir_mappings.reader import Resources, flatten
from fhir_mappings.refusals import procedure_refusals
from fhir_mappings.relapses import merge_relapses, steroid_courses

__all__ = ["DraftReading", "PatientRecord", "read_drafts", "read_patient", "unread_record"]


@dataclass(frozen=True)
class PatientRecord:
    """What the HTTP edge resolved: prefetch values by key, and the draft orders.

    `prefetch` maps each key to its value (a resource or Bundle), or None for
    "no data". `missing` names keys that could not be had, with why; `unread` the
    references the drafts make that could not be read, with why.
    """

    patient_id: str | None
    prefetch: Mapping[str, Any]
    draft_orders: Any = None
    missing: Mapping[str, str] | None = None
    # References the edge looked for and could not have ('Medication/x' -> why, PHI-free).
    unread: Mapping[str, str] | None = None


@dataclass(frozen=True)
class DraftReading:
    """The draft orders read: their facts, the references they make that the request does
    not hold ('Type/id', e.g. a medicationReference to a Medication the EHR did not
    send: fetch them and read again to judge those orders), and the parse notes."""

    orders: tuple[DraftOrder, ...]
    unresolved: tuple[str, ...]
    notes: tuple[ParseNote, ...]


def _record_resources(record: PatientRecord) -> Iterator[Any]:
    for value in record.prefetch.values():
        yield from flatten(value)


def read_drafts(record: PatientRecord, config: MappingConfig | None = None) -> DraftReading:
    """The draft orders' facts. A reference is looked up in the drafts first, then (only
    then: most orders reference nothing outside their bundle) in the prefetch."""
    drafts = Resources(flatten(record.draft_orders), more=_record_resources(record))
    config = config or MappingConfig()
    unresolved: list[str] = []
    unread = record.unread or {}
    orders = [
        o for r in drafts.all if (o := draft_order_of(r, config, unresolved, unread)) is not None
    ]
    return DraftReading(tuple(orders), tuple(dict.fromkeys(unresolved)), drafts.parse_notes())


def read_patient(
    record: PatientRecord, today: date, config: MappingConfig | None = None
) -> PatientFacts:
    """What the prefetch says about the patient (draft orders play no part), one pass
    per resource family."""
    config = config or MappingConfig()
    pool = Resources(_record_resources(record), unique=True)
    patients = pool.of_type("Patient")
    birth = birth_span(patients, record.patient_id)
    conditions = read_conditions(pool.of_type("Condition"), birth[0] if birth else None)
    observations = read_observations(pool.of_type("Observation"), config)
    imaging = read_imaging(pool.of_type("DiagnosticReport"), observations.mri_texts)
    labs = labs_of(observations.labs)
    medication_resources = [
        *pool.of_type("MedicationRequest"),
        *pool.of_type("MedicationStatement"),
        *pool.of_type("MedicationAdministration"),
    ]
    dmt_matches: DmtMemo = {}  # by concept, this read only: medications and open orders
    medications = read_medications(medication_resources, config, today, dmt_matches)
    dmts = medications.exposures
    procedures = [*pool.of_type("Procedure"), *pool.of_type("ServiceRequest")]
    steroids = steroid_courses(medication_resources, dmts)
    relapses = merge_relapses(
        conditions.relapses, relapse_visits(pool.of_type("Encounter")), steroids
    )
    edss, ignored = split_by_relapse(observations.edss, relapses, config.edss_relapse_days)
    orders = (
        *pool.of_type("MedicationRequest"),
        *pool.of_type("MedicationOrder"),
        *pool.of_type("ServiceRequest"),
        *pool.of_type("ProcedureRequest"),
    )
    return PatientFacts(
        patient_ref=_patient_ref(record),
        ms_diagnoses=conditions.diagnoses,
        course=disease_course(conditions.diagnoses),
        onset=disease_onset(conditions, dmts, relapses),
        age=age_of(birth, today),
        dmts=dmts,
        relapses=relapses,
        mri_counts=(*observations.mri_counts, *imaging.counts),
        edss=edss,
        prior_ahsct=(*prior_ahsct(pool.of_type("Procedure")), *conditions.prior_hsct),
        unavailable=tuple(record.missing or ()),
        missing_data=_missing_data(record),
        parse_notes=pool.parse_notes(),
        mapping_notes=tuple(dict.fromkeys((*observations.notes, *imaging.notes))),
        refusals=(*medications.refusals, *procedure_refusals(procedures, config)),
        mimics=(*conditions.mimics, *labs.mimics),
        pregnancy=pregnancy_of((*conditions.pregnancy, *labs.pregnancy), today),
        jcv=labs.jcv,
        hbv=labs.hbv,
        deceased=deceased_of(patients, record.patient_id),
        ignored=(*ignored, *imaging.ignored),
        msc_orders=tuple(msc_orders_in_record(orders, config, dmt_matches)),
        gvhd_conditions=tuple(gvhd_conditions(pool.of_type("Condition"))),
    )


def unread_record(record: PatientRecord) -> PatientFacts:
    """The facts of a record that was not read: only what the request itself says."""
    return PatientFacts(
        patient_ref=_patient_ref(record),
        unavailable=tuple(record.missing or ()),
        missing_data=_missing_data(record),
    )


def _patient_ref(record: PatientRecord) -> str | None:
    return f"Patient/{record.patient_id}" if record.patient_id else None


def _missing_data(record: PatientRecord) -> tuple[str, ...]:
    return tuple(f"{k}: {why}" for k, why in (record.missing or {}).items())
