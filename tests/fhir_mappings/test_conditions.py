"""MS course, disease onset and relapses from Conditions, in every code system."""

from __future__ import annotations

from datetime import date

import pytest

from fhir_mappings.facts import MsCourse, OnsetBasis
from tests.builders import ICD10CM, condition
from tests.records import facts_of, relapse

ICD10 = "http://hl7.org/fhir/sid/icd-10"
ICD10GM = "http://fhir.de/CodeSystem/bfarm/icd-10-gm"


@pytest.mark.parametrize(
    ("code", "system", "course", "activity"),
    [
        ("426373005", "http://snomed.info/sct", MsCourse.RELAPSING_REMITTING, None),
        ("425500002", "http://snomed.info/sct", MsCourse.SECONDARY_PROGRESSIVE, None),
        ("428700003", "http://snomed.info/sct", MsCourse.PRIMARY_PROGRESSIVE, None),
        ("24700007", "http://snomed.info/sct", MsCourse.UNSPECIFIED, None),
        ("G35", ICD10CM, MsCourse.UNSPECIFIED, None),
        ("G35.A", ICD10CM, MsCourse.RELAPSING_REMITTING, None),
        ("G35.B1", ICD10CM, MsCourse.PRIMARY_PROGRESSIVE, "active"),
        ("G35.C0", ICD10CM, MsCourse.SECONDARY_PROGRESSIVE, None),
        ("G35.C1", ICD10CM, MsCourse.SECONDARY_PROGRESSIVE, "active"),
        ("G35.C2", ICD10CM, MsCourse.SECONDARY_PROGRESSIVE, "non-active"),
        ("G35.D", ICD10CM, MsCourse.UNSPECIFIED, None),
        ("G35", ICD10, MsCourse.UNSPECIFIED, None),
        ("G35.10", ICD10GM, MsCourse.RELAPSING_REMITTING, None),
        ("G35.31", ICD10GM, MsCourse.SECONDARY_PROGRESSIVE, "active"),
        ("G35.20", ICD10GM, MsCourse.PRIMARY_PROGRESSIVE, None),
    ],
)
def test_course_from_each_code_system(
    code: str, system: str, course: MsCourse, activity: str | None
) -> None:
    """SNOMED, ICD-10-CM (FY2026 and legacy G35), WHO ICD-10 and ICD-10-GM state the course."""
    facts = facts_of(condition("dx", code, system=system))
    assert facts.course is not None
    assert (facts.course.course, facts.course.activity) == (course, activity)
    assert facts.course.sources == ("Condition/dx",)


@pytest.mark.parametrize(
    ("text", "course"),
    [
        ("Secondary progressive multiple sclerosis", MsCourse.SECONDARY_PROGRESSIVE),
        ("PPMS", MsCourse.PRIMARY_PROGRESSIVE),
        ("Multiple sclerosis", MsCourse.UNSPECIFIED),
    ],
)
def test_course_from_text(text: str, course: MsCourse) -> None:
    """Text alone states the course when no code does."""
    facts = facts_of(condition("dx", text=text))
    assert facts.course is not None and facts.course.course is course


@pytest.mark.parametrize(
    "resource",
    [
        condition("cis", "445967004"),
        condition("ris", "16415361000119105"),
        condition("cis-text", text="Clinically isolated syndrome, suspected multiple sclerosis"),
        condition("refuted", "426373005", verification="refuted"),
    ],
)
def test_cis_ris_and_refuted_are_not_ms(resource: dict[str, object]) -> None:
    """CIS, RIS and a refuted diagnosis give no MS course."""
    facts = facts_of(resource)
    assert facts.course is None and not facts.has_ms


def test_most_advanced_course_wins_and_others_are_listed() -> None:
    """RRMS and SPMS both active: the course is SPMS, RRMS is listed as also recorded."""
    facts = facts_of(condition("rr", "426373005"), condition("sp", "G35.C1", system=ICD10CM))
    assert facts.course is not None
    assert facts.course.course is MsCourse.SECONDARY_PROGRESSIVE
    assert facts.course.activity == "active"
    assert facts.course.also_recorded == (MsCourse.RELAPSING_REMITTING,)
    assert facts.ms_condition_ref == "Condition/sp"


def test_onset_is_the_earliest_ms_onset_including_resolved_conditions() -> None:
    """The earliest onset of any MS Condition counts, even a resolved RRMS one."""
    facts = facts_of(
        condition("old", "426373005", clinical="resolved", onsetDateTime="2017-05-03"),
        condition("sp", "425500002", onsetPeriod={"start": "2021-02-01"}),
    )
    assert facts.onset is not None
    assert facts.onset.basis is OnsetBasis.ONSET
    assert facts.onset.span.earliest == date(2017, 5, 3)
    assert facts.onset.source == "Condition/old"


def test_onset_from_onset_period_and_partial_date() -> None:
    """onsetPeriod.start gives the onset; a year-only onset is the whole year."""
    facts = facts_of(condition("dx", "426373005", onsetPeriod={"start": "2018"}))
    assert facts.onset is not None
    assert (facts.onset.span.earliest, facts.onset.span.latest) == (
        date(2018, 1, 1),
        date(2018, 12, 31),
    )


def test_onset_from_onset_age_uses_the_birth_date() -> None:
    """onsetAge 30 years for a patient born 1990-04-12 is onset 2020-04-12 .. 2021-04-11."""
    facts = facts_of(
        condition("dx", "426373005", onsetAge={"value": 30, "unit": "years", "code": "a"}),
        birth="1990-04-12",
    )
    assert facts.onset is not None
    assert facts.onset.span.earliest == date(2020, 4, 12)
    assert facts.onset.span.latest == date(2021, 4, 11)


def test_recorded_date_is_a_stated_proxy_for_onset() -> None:
    """Without any onset, the earliest recordedDate is used and labelled as such."""
    facts = facts_of(condition("dx", "426373005", recordedDate="2019-06-30"))
    assert facts.onset is not None
    assert facts.onset.basis is OnsetBasis.RECORDED_DATE
    assert facts.onset.span.earliest == date(2019, 6, 30)


def test_earliest_relapse_dates_the_disease_as_a_relapse() -> None:
    """An exacerbation Condition is a relapse: its onset dates the disease as the first
    relapse (basis relapse), never as the Condition onset of an MS diagnosis."""
    facts = facts_of(condition("dx", "426373005"), relapse("r1", "2010-01-01"))
    assert facts.onset is not None
    assert (facts.onset.basis, facts.onset.source) == (OnsetBasis.RELAPSE, "Condition/r1")
    assert not facts.onset.lower_bound_only
    assert [r.source for r in facts.relapses] == ["Condition/r1"]


def test_relapses_by_code_and_text_with_dates() -> None:
    """SNOMED 192929006 and relapse text are relapses; resolved ones count; dates kept."""
    facts = facts_of(
        relapse("r-code", "2026-03-14"),
        condition("r-text", text="MS relapse", clinical="resolved", recordedDate="2026-07"),
        condition("r-undated", text="Exacerbation of multiple sclerosis"),
        condition("not-relapse", text="Relapse of depression"),
        condition("suspected", text="Suspected MS relapse"),
    )
    found = {r.source: r for r in facts.relapses}
    assert set(found) == {"Condition/r-code", "Condition/r-text", "Condition/r-undated"}
    assert found["Condition/r-code"].on is not None
    assert found["Condition/r-code"].on.earliest == date(2026, 3, 14)
    assert found["Condition/r-text"].on is not None
    assert found["Condition/r-text"].on.text == "2026-07"
    assert found["Condition/r-undated"].on is None
    assert found["Condition/r-code"].matched_by == "http://snomed.info/sct|192929006"
