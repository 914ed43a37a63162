"""How a demo patient is described: a few dated facts, in days before today.

A description says what a clinician would say about the patient ("RRMS for six
years, relapse five months ago on ocrelizumab, EDSS 3.0"); `demo_data.build` turns
it into FHIR R4 resources dated relative to the day it is built for.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from demo_data.codes import Code, Drug

__all__ = ["Diagnosis", "Lesions", "Order", "Situation", "Treatment", "months"]


def months(n: float) -> int:
    """Days in `n` months (30.4 days each): descriptions speak in months."""
    return round(n * 30.4)


@dataclass(frozen=True)
class Diagnosis:
    codes: tuple[Code, ...]  # one Condition, one coding per code (e.g. SNOMED and ICD-10-CM)
    onset_days_ago: int | None
    recorded_days_ago: int


@dataclass(frozen=True)
class Treatment:
    """A DMT prescription in the chart (MedicationRequest, intent order)."""

    drug: Drug
    started_days_ago: int
    status: str = "active"


@dataclass(frozen=True)
class Order:
    """Another order in the chart (e.g. an MSC infusion), by code."""

    code: Code
    authored_days_ago: int
    status: str = "active"


@dataclass(frozen=True)
class Lesions:
    """An MRI lesion count: Gd-enhancing or new/enlarging T2 (codes.MRI_*)."""

    measure: Code
    count: int
    days_ago: int


@dataclass(frozen=True)
class Situation:
    """One demo patient: what it shows, and the record that shows it."""

    id: str  # the FHIR Patient.id (and the prefix of every resource id)
    title: str  # shown as the patient's given name in the sandbox
    shows: str  # what a user should see, one line
    age: int
    gender: str
    diagnoses: tuple[Diagnosis, ...]
    treatments: tuple[Treatment, ...] = ()
    relapses_days_ago: tuple[int, ...] = ()
    edss: tuple[tuple[float, int], ...] = ()  # (score, days ago)
    lesions: tuple[Lesions, ...] = ()
    orders: tuple[Order, ...] = ()
    pregnant_since_days_ago: int | None = None  # a pregnancy, and its status observed since
    birth_year_only: bool = False  # the record has the year of birth, not the day
    expected_topics: dict[str, tuple[str, ...]] = field(default_factory=dict)  # hook -> topics
