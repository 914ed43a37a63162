"""Patient -> Age on the evaluation date (a range when the birth date is partial).

The birth date itself never leaves this module: facts carry whole years only.
"""

from __future__ import annotations

from datetime import date

from fhir_mappings.dates import completed_years, parse_span
from fhir_mappings.facts import Age, DateSpan
from fhir_mappings.resources import ResourcePool

__all__ = ["age_of", "birth_span"]

_PRECISION = {4: "year", 7: "month"}


def birth_span(pool: ResourcePool, patient_id: str | None) -> tuple[DateSpan, str] | None:
    """The span of possible birth days of the patient, and the Patient it came from."""
    patients = pool.of_type("Patient")
    chosen = next((p for p in patients if patient_id and p.get("id") == patient_id), None)
    if chosen is None and len(patients) == 1:
        chosen = patients[0]
    if chosen is None or "birthDate" not in chosen:
        return None
    resource = pool.get(chosen)
    span = parse_span(resource.data.get("birthDate"))
    return (span, resource.ref) if span else None


def age_of(pool: ResourcePool, patient_id: str | None, today: date) -> Age | None:
    """Age in whole years on `today`; None when no usable birth date is recorded."""
    found = birth_span(pool, patient_id)
    if found is None:
        return None
    span, ref = found
    if span.earliest > today:
        return None
    return Age(
        min_years=max(0, completed_years(span.latest, today)),
        max_years=completed_years(span.earliest, today),
        precision=_PRECISION.get(len(span.text), "day"),
        source=ref,
    )
