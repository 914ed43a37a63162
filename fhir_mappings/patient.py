"""Patient -> Age on the evaluation date (a range when the birth date is partial), and
whether the patient has died (deceasedBoolean / deceasedDateTime).

The birth date itself never leaves this module: facts carry whole years only.
"""

from __future__ import annotations

from datetime import date

from fhir_mappings.dates import completed_years
from fhir_mappings.facts import Age, DateSpan, Deceased
from fhir_mappings.reader import Resource

__all__ = ["age_of", "birth_span", "deceased_of", "the_patient"]

_PRECISION = {4: "year", 7: "month"}


def the_patient(patients: list[Resource], patient_id: str | None) -> Resource | None:
    """The Patient with the context's id, else the only Patient there is."""
    chosen = next((p for p in patients if patient_id and p.id == patient_id), None)
    if chosen is None and len(patients) == 1:
        chosen = patients[0]
    return chosen


def birth_span(patients: list[Resource], patient_id: str | None) -> tuple[DateSpan, str] | None:
    """The span of possible birth days of the patient, and the Patient it came from."""
    chosen = the_patient(patients, patient_id)
    span = chosen.date("birthDate") if chosen is not None else None
    return (span, chosen.ref) if span is not None and chosen is not None else None


def deceased_of(patients: list[Resource], patient_id: str | None) -> Deceased | None:
    """Deceased when deceasedBoolean is true or a deceasedDateTime is given (dated then)."""
    chosen = the_patient(patients, patient_id)
    if chosen is None:
        return None
    if "deceasedDateTime" in chosen:
        when = chosen.date("deceasedDateTime")
        if when is not None:
            return Deceased(on=when, source=chosen.ref)
    if chosen.boolean("deceasedBoolean") is True:
        return Deceased(on=None, source=chosen.ref)
    return None


def age_of(birth: tuple[DateSpan, str] | None, today: date) -> Age | None:
    """Age in whole years on `today`; None when no usable birth date is recorded."""
    if birth is None:
        return None
    span, ref = birth
    if span.earliest > today:
        return None
    return Age(
        min_years=max(0, completed_years(span.latest, today)),
        max_years=completed_years(span.earliest, today),
        precision=_PRECISION.get(len(span.text), "day"),
        source=ref,
    )
