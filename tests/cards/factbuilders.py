"""PatientFacts built directly (no FHIR): the inputs of the safety-gate and rule tests."""

from __future__ import annotations

from datetime import date
from typing import Any

from fhir_mappings.facts import (
    Age,
    Certainty,
    DateSpan,
    Diagnosis,
    DiseaseCourse,
    DiseaseOnset,
    DmtExposure,
    Edss,
    EfficacyClass,
    MriLesionCount,
    MriMeasure,
    MsCourse,
    OnsetBasis,
    PatientFacts,
    Relapse,
)

TODAY = date(2026, 11, 25)
HIGH = {
    "ocrelizumab",
    "ofatumumab",
    "ublituximab",
    "natalizumab",
    "alemtuzumab",
    "cladribine",
    "rituximab",
}


def day(text: str) -> DateSpan:
    d = date.fromisoformat(text)
    return DateSpan(earliest=d, latest=d, text=text)


def dmt(ingredient: str, start: str = "2022-01-01", **extra: Any) -> DmtExposure:
    fields: dict[str, Any] = {
        "ingredient": ingredient,
        "efficacy": EfficacyClass.HIGH if ingredient in HIGH else EfficacyClass.PLATFORM,
        "matched_by": "test",
        "start": day(start),
        "current": True,
        "sources": (f"MedicationRequest/{ingredient.replace(' ', '-')}",),
    }
    fields.update(extra)
    if "end" in extra and "current" not in extra:
        fields["current"] = False
    return DmtExposure(**fields)


def ms(
    course: MsCourse = MsCourse.RELAPSING_REMITTING,
    certainty: Certainty = Certainty.CONFIRMED,
    age: int | None = 36,
    **extra: Any,
) -> PatientFacts:
    """A patient with MS: by default RRMS since 2019, aged 36, no DMT, no activity."""
    fields: dict[str, Any] = {
        "patient_ref": "Patient/p1",
        "ms_diagnoses": (
            Diagnosis(source="Condition/ms", course=course, matched_by="t", certainty=certainty),
        ),
        "course": DiseaseCourse(course=course, sources=("Condition/ms",)),
        "onset": DiseaseOnset(
            span=day("2019-03-01"), basis=OnsetBasis.ONSET, source="Condition/ms"
        ),
        "age": Age(min_years=age, max_years=age, precision="day", source="Patient/p1")
        if age is not None
        else None,
    }
    fields.update(extra)
    return PatientFacts(**fields)


def relapse(on: str = "2026-05-01", rid: str = "r1") -> Relapse:
    return Relapse(on=day(on), matched_by="t", source=f"Condition/{rid}")


def gd(count: int, on: str = "2026-06-01") -> MriLesionCount:
    return MriLesionCount(
        measure=MriMeasure.GD_ENHANCING, count=count, on=day(on), matched_by="t", source="Obs/gd"
    )


def t2(count: int, on: str = "2026-06-01") -> MriLesionCount:
    return MriLesionCount(
        measure=MriMeasure.NEW_OR_ENLARGING_T2,
        count=count,
        on=day(on),
        matched_by="t",
        source="Obs/t2",
    )


def edss(score: float, on: str = "2026-06-01") -> Edss:
    return Edss(score=score, on=day(on), source="Obs/edss")
