"""Diagnosis certainty (verificationStatus, words of doubt) and mimics (NMOSD, MOGAD,
CIS, RIS) from Conditions and antibody results; a current NMOSD/MOGAD outranks MS."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from fhir_mappings.facts import Certainty, MimicKind
from tests.builders import ICD10CM, condition
from tests.records import facts_of, observation

LOINC = "http://loinc.org"


@pytest.mark.parametrize("status", ["provisional", "differential", "unconfirmed"])
def test_unconfirmed_verification_status(status: str) -> None:
    """provisional / differential / unconfirmed leave the MS diagnosis unconfirmed."""
    facts = facts_of(condition("dx", "426373005", verification=status))
    assert [d.certainty for d in facts.ms_diagnoses] == [Certainty.UNCONFIRMED]
    assert facts.has_ms and not facts.ms_confirmed


@pytest.mark.parametrize(
    "text",
    [
        "Possible multiple sclerosis",
        "Probable relapsing-remitting multiple sclerosis",
        "Suspected MS (multiple sclerosis)",
        "?MS - multiple sclerosis under investigation",
        "Query multiple sclerosis",
    ],
)
def test_words_of_doubt_leave_ms_unconfirmed(text: str) -> None:
    """'possible / probable / suspected MS', '?MS', 'query MS' are unconfirmed diagnoses."""
    facts = facts_of(condition("dx", text=text))
    assert [d.certainty for d in facts.ms_diagnoses] == [Certainty.UNCONFIRMED]
    assert not facts.ms_confirmed


def test_confirmed_diagnosis_is_dated_by_onset_else_recorded_date() -> None:
    """A plain coded diagnosis is confirmed; `on` is its onset, else its recordedDate."""
    facts = facts_of(
        condition("a", "426373005", verification="confirmed", onsetDateTime="2018-02-03"),
        condition("b", "G35.A", system=ICD10CM, recordedDate="2020-05-06"),
    )
    found = {d.source: d for d in facts.ms_diagnoses}
    assert found["Condition/a"].certainty is Certainty.CONFIRMED and facts.ms_confirmed
    assert found["Condition/a"].on is not None
    assert found["Condition/a"].on.earliest == date(2018, 2, 3)
    assert found["Condition/b"].on is not None and found["Condition/b"].on.text == "2020-05-06"


@pytest.mark.parametrize(
    ("resource", "kind", "matched_by"),
    [
        (condition("m", "G36.0", system=ICD10CM), MimicKind.NMOSD, f"{ICD10CM}|G36.0"),
        (condition("m", "25044007"), MimicKind.NMOSD, "http://snomed.info/sct|25044007"),
        (condition("m", "G37.81", system=ICD10CM), MimicKind.MOGAD, f"{ICD10CM}|G37.81"),
        (condition("m", "445967004"), MimicKind.CIS, "http://snomed.info/sct|445967004"),
        (
            condition("m", "16415361000119105"),
            MimicKind.RIS,
            "http://snomed.info/sct|16415361000119105",
        ),
        (condition("m", text="Neuromyelitis optica spectrum disorder"), MimicKind.NMOSD, None),
        (condition("m", text="MOG antibody disease"), MimicKind.MOGAD, None),
        (condition("m", text="Radiologically isolated syndrome"), MimicKind.RIS, None),
    ],
)
def test_mimics_from_conditions(
    resource: dict[str, Any], kind: MimicKind, matched_by: str | None
) -> None:
    """NMOSD (G36.0, SNOMED 25044007), MOGAD (G37.81), CIS and RIS, by code or text."""
    facts = facts_of(resource)
    assert [(m.kind, m.source) for m in facts.mimics] == [(kind, "Condition/m")]
    if matched_by:
        assert facts.mimics[0].matched_by == matched_by
    else:
        assert facts.mimics[0].matched_by.startswith("text /")


def test_resolved_or_refuted_mimic_is_not_current() -> None:
    """A resolved or refuted NMOSD entry is no mimic and leaves MS confirmed."""
    facts = facts_of(
        condition("ms", "426373005"),
        condition("old", "G36.0", system=ICD10CM, clinical="resolved"),
        condition("no", "25044007", verification="refuted"),
    )
    assert facts.mimics == () and facts.ms_confirmed


def test_later_nmosd_outranks_an_older_ms_entry() -> None:
    """MS recorded 2015, NMOSD diagnosed 2024: MS is not confirmed any more."""
    facts = facts_of(
        condition("ms", "426373005", onsetDateTime="2015-01-01"),
        condition("nmo", "G36.0", system=ICD10CM, onsetDateTime="2024-03-01"),
    )
    assert facts.has_ms and not facts.ms_confirmed
    assert facts.mimics[0].on is not None and facts.mimics[0].on.text == "2024-03-01"


def _result(code: str | None, text: str | None, **value: Any) -> dict[str, Any]:
    return observation("ab", text, code, system=LOINC, when="2025-09-01", **value)


@pytest.mark.parametrize(
    ("resource", "kind", "matched_by"),
    [
        (
            _result("68548-7", None, valueCodeableConcept={"text": "Positive"}),
            MimicKind.NMOSD,
            "LOINC|68548-7 positive",
        ),
        (
            _result(
                "63439-4",
                None,
                valueCodeableConcept={
                    "coding": [{"system": "http://snomed.info/sct", "code": "10828004"}]
                },
            ),
            MimicKind.NMOSD,
            "LOINC|63439-4 positive",
        ),
        (
            _result(None, "MOG IgG antibody, serum", valueString="Detected"),
            MimicKind.MOGAD,
            None,
        ),
    ],
)
def test_positive_antibody_is_a_mimic(
    resource: dict[str, Any], kind: MimicKind, matched_by: str | None
) -> None:
    """A positive AQP4-IgG (LOINC 68548-7, 63439-4) or MOG-IgG (text) is a mimic."""
    facts = facts_of(condition("ms", "426373005"), resource)
    assert [(m.kind, m.source) for m in facts.mimics] == [(kind, "Observation/ab")]
    assert not facts.ms_confirmed
    if matched_by:
        assert facts.mimics[0].matched_by == matched_by
    else:
        assert facts.mimics[0].matched_by.endswith(" positive")


@pytest.mark.parametrize(
    "value",
    [
        {"valueString": "Negative"},
        {"valueString": "not detected"},
        {"valueQuantity": {"value": 1.2}},  # a number alone says nothing
    ],
)
def test_negative_or_unreadable_antibody_is_no_mimic(value: dict[str, Any]) -> None:
    """A negative or number-only AQP4 result is no mimic."""
    facts = facts_of(condition("ms", "426373005"), _result("68548-7", None, **value))
    assert facts.mimics == () and facts.ms_confirmed


def test_suspected_relapse_and_cis_text_are_not_ms_relapses() -> None:
    """'Suspected MS relapse' is no relapse; CIS text suspecting MS is not MS."""
    facts = facts_of(
        condition("r", text="Suspected MS relapse"),
        condition("cis", text="Clinically isolated syndrome, suspected multiple sclerosis"),
    )
    assert facts.relapses == () and not facts.has_ms
    assert [m.kind for m in facts.mimics] == [MimicKind.CIS]
