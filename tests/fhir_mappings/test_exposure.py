"""DMT exposure windows, courses and administrations (evaluation date frozen: TODAY)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from cards.config import RuleConfig
from cards.criteria import Status
from cards.rules.activity import he_failure
from fhir_mappings.config import MappingConfig
from fhir_mappings.facts import EfficacyClass
from tests.builders import condition
from tests.conftest import TODAY
from tests.records import SUBJECT, facts_of, new_t2, relapse, rx, statement

RRMS = condition("ms-1", "426373005")


def administration(
    aid: str,
    text: str,
    when: str | None = "2026-07-25",
    status: str = "completed",
    **extra: Any,
) -> dict[str, Any]:
    """A MedicationAdministration (an infusion given)."""
    resource: dict[str, Any] = {
        "resourceType": "MedicationAdministration",
        "id": aid,
        "status": status,
        "subject": SUBJECT,
        "medicationCodeableConcept": {"text": text},
        **extra,
    }
    if when:
        resource["effectiveDateTime"] = when
    return resource


def test_completed_ocrelizumab_infusion_four_months_ago_is_current() -> None:
    """A completed ocrelizumab order 4 months ago: on ocrelizumab until 6 months after it."""
    facts = facts_of(rx("o", "Ocrevus 600 mg IV", status="completed", start="2026-07-25"))
    (dmt,) = facts.dmts
    assert dmt.current is True and facts.current_dmts == (dmt,)
    assert dmt.last_dose is not None and dmt.last_dose.earliest == date(2026, 7, 25)
    assert dmt.effective_until is not None and dmt.effective_until.earliest == date(2027, 1, 25)
    assert dmt.products == ("Ocrevus",)


def test_ocrelizumab_infusion_seven_months_ago_is_past() -> None:
    """Seven months after the last infusion the 6-month window is over: not current."""
    (dmt,) = facts_of(rx("o", "ocrelizumab", status="completed", start="2026-04-20")).dmts
    assert dmt.current is False
    assert dmt.effective_until is not None and dmt.effective_until.earliest == date(2026, 10, 20)


def test_administration_is_exposure_and_last_dose() -> None:
    """An infusion recorded only as a MedicationAdministration (its own prefetch key)."""
    facts = facts_of(
        rx("o1", "ocrelizumab", status="completed", start="2025-06-01"),
        administration("a1", "ocrelizumab 600 mg in NaCl", when="2026-08-02T10:30:00Z"),
    )
    (dmt,) = facts.dmts
    assert dmt.current is True
    assert dmt.last_dose is not None and dmt.last_dose.earliest == date(2026, 8, 2)
    assert dmt.start is not None and dmt.start.earliest == date(2025, 6, 1)
    assert dmt.sources == ("MedicationRequest/o1", "MedicationAdministration/a1")


def _days(prefix: str, text: str, days: list[str]) -> list[dict[str, Any]]:
    return [administration(f"{prefix}{i}", text, when=day) for i, day in enumerate(days)]


ALEMTUZUMAB_COURSES = [
    *_days("c1-", "Lemtrada 12 mg", [f"2023-01-0{d}" for d in range(2, 7)]),
    *_days("c2-", "alemtuzumab 12 mg IV", ["2024-01-08", "2024-01-09", "2024-01-10"]),
]


def test_two_alemtuzumab_courses_three_years_ago_are_treated() -> None:
    """Courses of 5 and 3 days a year apart, the last 3 years ago: 2 courses, still on it
    (48 months after the last infusion), high-efficacy, not "no DMT"."""
    facts = facts_of(*ALEMTUZUMAB_COURSES)
    (dmt,) = facts.dmts
    assert (dmt.ingredient, dmt.efficacy, dmt.courses) == ("alemtuzumab", EfficacyClass.HIGH, 2)
    assert dmt.current is True
    assert dmt.effective_until is not None and dmt.effective_until.earliest == date(2028, 1, 10)
    assert dmt.products == ("Lemtrada",)


CLADRIBINE_YEARS_1_2 = [
    statement(
        "y1a", "Mavenclad 10 mg tablet", status="completed", start="2023-03-01", end="2023-03-05"
    ),
    statement(
        "y1b", "Mavenclad 10 mg tablet", status="completed", start="2023-04-01", end="2023-04-04"
    ),
    statement("y2a", "cladribine 10 mg", status="completed", start="2024-03-04", end="2024-03-08"),
    statement("y2b", "cladribine 10 mg", status="completed", start="2024-04-01", end="2024-04-05"),
]


@pytest.mark.parametrize(
    ("today", "current"),
    [(TODAY, True), (date(2027, 2, 28), True), (date(2027, 3, 2), False)],
)
def test_cladribine_years_one_and_two_cover_four_years(today: date, current: bool) -> None:
    """Two yearly courses (each 2 treatment weeks a month apart) are 2 courses, and the
    patient counts as treated for 4 years from the first one."""
    (dmt,) = facts_of(*CLADRIBINE_YEARS_1_2, today=today).dmts
    assert dmt.courses == 2
    assert dmt.effective_until is not None and dmt.effective_until.earliest == date(2027, 3, 1)
    assert dmt.current is current


@pytest.mark.parametrize(
    ("text", "dose", "current"),
    [
        ("Tysabri 300 mg", "2026-11-01", True),  # 3.5 weeks: within 4 weeks
        ("Tyruko (natalizumab-sztn) 300 mg", "2026-10-20", False),  # 5 weeks
        ("Kesimpta 20 mg pen", "2026-11-01", True),  # within a month
        ("ofatumumab 20 mg", "2026-09-20", False),  # 2 months
        ("Briumvi 450 mg", "2026-07-01", True),  # 21 weeks of 24
        ("ublituximab-xiiy 450 mg", "2026-05-20", False),  # 27 weeks
        ("Truxima 500 mg", "2026-06-01", True),  # rituximab: 6 months
        ("rituximab 1000 mg", "2026-04-01", False),  # 8 months
        ("Ocrevus Zunovo 920 mg SC", "2026-06-01", True),  # every 6 months
        ("Tecfidera 240 mg", "2026-11-01", False),  # a daily drug: no window after a dose
    ],
)
def test_label_window_after_a_dose(text: str, dose: str, current: bool) -> None:
    """Each drug counts as current until its label interval after the last dose."""
    (dmt,) = facts_of(administration("a", text, when=dose)).dmts
    assert dmt.current is current


def test_rituximab_window_is_a_site_setting() -> None:
    """A site dosing rituximab yearly (RIDOSE extended arm) sets a 12-month window."""
    record = administration("a", "rituximab 500 mg", when="2026-04-01")
    assert facts_of(record).dmts[0].current is False
    config = MappingConfig(dmt_window_months={"rituximab": 12})
    assert facts_of(record, config=config).dmts[0].current is True


@pytest.mark.parametrize(
    "resource",
    [
        administration("a", "ocrelizumab", status="not-done"),
        administration("a", "ocrelizumab", status="entered-in-error"),
        administration("a", "ocrelizumab", status="unknown"),
        rx("m", "ocrelizumab", status="stopped", statusReason={"text": "never started"}),
        rx("m", "ocrelizumab", status="stopped", statusReason={"text": "Patient declined"}),
        rx("m", "ocrelizumab", status="active", intent="plan"),
        rx("m", "ocrelizumab", status="completed", intent="proposal"),
        rx("m", "ocrelizumab", status="draft"),
        statement("s", "ocrelizumab", status="not-taken"),
        statement("s", "ocrelizumab", status="entered-in-error"),
    ],
)
def test_never_given_is_no_exposure(resource: dict[str, Any]) -> None:
    """Not done, erroneous, never started, declined, planned or proposed: no exposure."""
    assert facts_of(resource).dmts == ()


def test_same_resource_twice_counts_once() -> None:
    """The same administration from two searches is one source."""
    (dmt,) = facts_of(administration("a", "Tysabri"), administration("a", "Tysabri")).dmts
    assert dmt.sources == ("MedicationAdministration/a",)


def test_unresolved_medication_reference_is_read_by_its_display() -> None:
    """A medicationReference the request cannot resolve names the drug by its display."""
    resource = administration(
        "a",
        "x",
        medicationReference={
            "reference": "Medication/m9",
            "display": "OCREVUS 300 MG/10ML IV SOLN",
        },
    )
    del resource["medicationCodeableConcept"]
    assert [d.ingredient for d in facts_of(resource).dmts] == ["ocrelizumab"]


def test_new_lesions_two_months_into_ocrelizumab_are_not_failure() -> None:
    """Activity before the onset of effect (start + 6 months) is no failure; the same
    activity 8 months in, while on the drug, is."""
    early = facts_of(RRMS, rx("o", "ocrelizumab", start="2026-09-20"), new_t2("m", 2, "2026-11-20"))
    assert early.dmts[0].effect_from is not None
    assert early.dmts[0].effect_from.earliest == date(2027, 3, 20)
    assert he_failure(early, RuleConfig(), TODAY).status is not Status.MET
    late = facts_of(RRMS, rx("o", "ocrelizumab", start="2026-01-20"), new_t2("m", 2, "2026-09-20"))
    assert he_failure(late, RuleConfig(), TODAY).status is Status.MET


def test_relapse_while_alemtuzumab_still_acts_is_failure() -> None:
    """A relapse 3 years after an alemtuzumab course (within its 48 months) is failure of
    alemtuzumab, though no record is active."""
    facts = facts_of(RRMS, *ALEMTUZUMAB_COURSES[:5], relapse("r", "2026-06-01"))
    assert facts.dmts[0].current is True
    criterion = he_failure(facts, RuleConfig(), TODAY)
    assert criterion.status is Status.MET and "alemtuzumab" in (criterion.value or "")
