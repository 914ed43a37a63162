"""MRI lesion counts from DiagnosticReports and MRI Observations written as text."""

from __future__ import annotations

import base64
from datetime import date
from typing import Any

import pytest

from fhir_mappings.facts import IgnoredValue, MriMeasure, PatientFacts
from fhir_mappings.mri_text import RECORD_CAP_CHARS, TEXT_CAP_CHARS
from tests.records import MR_BRAIN, facts_of, mri_report, observation

GD = MriMeasure.GD_ENHANCING
T2 = MriMeasure.NEW_OR_ENLARGING_T2
CT_HEAD = {"coding": [{"system": "http://loinc.org", "code": "24725-4"}], "text": "CT Head"}
IMAGING_STUDY = {"coding": [{"system": "http://loinc.org", "code": "18748-4"}]}


def found(facts: PatientFacts) -> list[tuple[str, MriMeasure, int, str | None]]:
    return sorted(
        (m.source, m.measure, m.count, m.on.text if m.on else None) for m in facts.mri_counts
    )


def test_conclusion_gives_counts_with_date_and_report() -> None:
    """'2 new T2 lesions, one enhancing lesion': one fact per measure, dated, naming the report."""
    facts = facts_of(mri_report("mri-1", "2 new T2 lesions, one enhancing lesion."))
    assert found(facts) == [
        ("DiagnosticReport/mri-1", GD, 1, "2026-06-01"),
        ("DiagnosticReport/mri-1", T2, 2, "2026-06-01"),
    ]
    assert all(m.report == "DiagnosticReport/mri-1" for m in facts.mri_counts)
    assert all(m.matched_by.startswith("DiagnosticReport text /") for m in facts.mri_counts)


def test_negated_report_is_a_zero_for_each_measure() -> None:
    """'No new or enhancing lesions': 0 Gd-enhancing and 0 new T2 lesions, a known MRI."""
    facts = facts_of(mri_report("mri-1", "No new or enhancing lesions."))
    assert [(m.measure, m.count) for m in sorted(facts.mri_counts, key=lambda m: m.measure)] == [
        (GD, 0),
        (T2, 0),
    ]


def test_presented_form_text_plain_is_decoded_with_its_charset() -> None:
    """A base64 text/plain presentedForm (charset honoured) is read; other types are not."""
    text = "IMPRESSION: Drei Läsionen. 3 new T2 lesions."
    latin = base64.b64encode(text.encode("latin-1")).decode()
    report = mri_report("mri-1")
    report["presentedForm"] = [
        {
            "contentType": "application/pdf",
            "data": base64.b64encode(b"1 enhancing lesion").decode(),
        },
        {"contentType": "text/plain; charset=ISO-8859-1", "data": latin},
    ]
    assert found(facts_of(report)) == [("DiagnosticReport/mri-1", T2, 3, "2026-06-01")]


def test_conclusion_code_texts_are_read() -> None:
    """conclusionCode's text and displays are read like the conclusion."""
    report = mri_report("mri-1", conclusionCode=[{"text": "One new gadolinium-enhancing lesion"}])
    assert found(facts_of(report)) == [("DiagnosticReport/mri-1", GD, 1, "2026-06-01")]


def test_issued_dates_a_report_without_effective_date() -> None:
    """Without effective[x], the report is dated by `issued`."""
    report = mri_report("mri-1", "2 new T2 lesions.", when=None, issued="2026-07-02T10:00:00Z")
    assert found(facts_of(report)) == [("DiagnosticReport/mri-1", T2, 2, "2026-07-02")]


def test_imaging_category_and_mri_words_in_the_text_are_enough() -> None:
    """A radiology report with a generic code is read when its text names MRI (FLAIR, T2)."""
    report = mri_report("mri-1", "MRI brain: 2 new T2 lesions.", code=IMAGING_STUDY)
    assert found(facts_of(report)) == [("DiagnosticReport/mri-1", T2, 2, "2026-06-01")]


@pytest.mark.parametrize(
    "changes",
    [
        {"code": CT_HEAD},  # a CT, not an MRI
        {"code": IMAGING_STUDY, "category": [{"text": "Laboratory"}]},
        {"status": "entered-in-error"},
        {"status": "cancelled"},
        {"status": "registered"},
    ],
)
def test_reports_that_are_not_read(changes: dict[str, Any]) -> None:
    """Not an MRI, no imaging category and no MRI code, or not a live report: not read."""
    report = mri_report("mri-1", "There is one enhancing lesion.")
    report.update(changes)
    assert facts_of(report).mri_counts == ()


def test_the_same_report_twice_counts_once() -> None:
    """A report sent twice (same id) gives its counts once."""
    report = mri_report("mri-1", "2 new T2 lesions.")
    assert len(facts_of(report, report).mri_counts) == 1


def test_possible_lesion_is_an_ignored_value_not_a_count() -> None:
    """'Possible new lesion': no count (not even 0), and an IgnoredValue says why."""
    facts = facts_of(mri_report("mri-1", "Possible new lesion. No enhancing lesions."))
    assert [(m.measure, m.count) for m in facts.mri_counts] == [(GD, 0)]
    assert facts.ignored == (
        IgnoredValue(
            what="mri",
            source="DiagnosticReport/mri-1",
            reason="possible (uncertain) new or enlarging T2 lesion in the report text: "
            "not counted as activity",
        ),
    )


def test_long_report_is_read_to_the_cap_and_noted() -> None:
    """Text past the per-report cap is not read; a note names the report, not its text."""
    long_text = "Normal. " * (TEXT_CAP_CHARS // 8 + 10) + "3 new T2 lesions."
    facts = facts_of(mri_report("mri-1", "No enhancing lesions.", text=long_text))
    assert [(m.measure, m.count) for m in facts.mri_counts] == [(GD, 0)]
    assert facts.mapping_notes == (
        f"DiagnosticReport/mri-1: MRI report text past {TEXT_CAP_CHARS} characters not read",
    )


def test_huge_base64_is_decoded_only_as_far_as_the_cap() -> None:
    """A presentedForm of megabytes costs no more than the cap (and still reads its start)."""
    report = mri_report("mri-1", text="One enhancing lesion. " + "x" * 3_000_000)
    facts = facts_of(report)
    assert [(m.measure, m.count) for m in facts.mri_counts] == [(GD, 1)]
    assert facts.mapping_notes and "not read" in facts.mapping_notes[0]


def test_newest_reports_are_read_first_within_the_record_budget() -> None:
    """Reports are read newest first; one past the record's text budget is noted, not read."""
    per_report = TEXT_CAP_CHARS - 100
    reports = [
        mri_report(
            f"mri-{i}",
            "1 enhancing lesion. " + "Normal. " * (per_report // 8),
            when=f"202{i}-01-01",
        )
        for i in range(RECORD_CAP_CHARS // per_report + 2)
    ]
    facts = facts_of(*reports)
    read = {m.source for m in facts.mri_counts}
    assert (
        f"DiagnosticReport/mri-{len(reports) - 1}" in read and "DiagnosticReport/mri-0" not in read
    )
    assert any(
        n.startswith("DiagnosticReport/mri-0: MRI report not read") for n in facts.mapping_notes
    )


def test_mri_observation_written_as_text() -> None:
    """An Observation coded as an MRI study with its result in valueString and note is read."""
    system, code = MR_BRAIN["coding"][0]["system"], MR_BRAIN["coding"][0]["code"]
    obs = observation(
        "o-1",
        code=code,
        system=system,
        valueString="Two new T2 lesions.",
        note=[{"text": "No enhancing lesions."}],
    )
    facts = facts_of(obs)
    assert found(facts) == [
        ("Observation/o-1", GD, 0, "2026-06-01"),
        ("Observation/o-1", T2, 2, "2026-06-01"),
    ]


def test_mri_observation_by_text_code_and_entered_in_error() -> None:
    """'MRI brain' in the code text is an MRI study; entered-in-error is not read."""
    live = observation("o-1", "MRI brain with contrast", valueString="One enhancing lesion.")
    dead = observation(
        "o-2", "MRI brain", valueString="3 new T2 lesions.", status="entered-in-error"
    )
    assert found(facts_of(live, dead)) == [("Observation/o-1", GD, 1, "2026-06-01")]


def test_lesion_count_observation_with_a_count_word() -> None:
    """A Gd-enhancing lesion count written as a word ('two', 'none') is a count."""
    facts = facts_of(
        observation("a", "Gd-enhancing lesions", valueString="two"),
        observation("b", "New T2 lesions", valueString="none"),
    )
    assert found(facts) == [
        ("Observation/a", GD, 2, "2026-06-01"),
        ("Observation/b", T2, 0, "2026-06-01"),
    ]


def test_other_observations_are_not_read_as_mri_text() -> None:
    """A lab Observation with text (no MRI code) gives no MRI count."""
    facts = facts_of(observation("o-1", "Vitamin D", valueString="2 new T2 lesions"))
    assert facts.mri_counts == ()


def test_facts_hold_no_report_text() -> None:
    """The facts name the report and the rule, never words of the report."""
    facts = facts_of(mri_report("mri-1", "Zyxwvut: 2 new T2 lesions in the left pons."))
    dumped = facts.model_dump_json()
    assert "Zyxwvut" not in dumped and "pons" not in dumped
    assert facts.mri_counts[0].on is not None and facts.mri_counts[0].on.earliest == date(
        2026, 6, 1
    )
