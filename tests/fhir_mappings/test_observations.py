"""EDSS scores and MRI lesion counts from Observations."""

from __future__ import annotations

from datetime import date

import pytest

from fhir_mappings.config import MappingConfig
from fhir_mappings.facts import MriMeasure
from tests.records import edss, facts_of, gd, new_t2, observation

LOCAL = "urn:oid:1.2.3.4.5|MRI-GD"


@pytest.mark.parametrize("score", [0, 1.0, 3.5, 4.0, 6.5, 10])
def test_valid_edss_values(score: float) -> None:
    """EDSS values on the 0-10 scale in 0.5 steps are read, with their date."""
    facts = facts_of(edss("e", score))
    assert [(e.score, e.source) for e in facts.edss] == [(score, "Observation/e")]
    assert facts.edss[0].on is not None and facts.edss[0].on.earliest == date(2026, 6, 1)


@pytest.mark.parametrize("score", [0.5, 3.25, 10.5, -1])
def test_invalid_edss_values_are_ignored_and_noted(score: float) -> None:
    """0.5, values off the 0.5 grid or outside 0-10 are ignored; the note names no value."""
    facts = facts_of(edss("e", score))
    assert facts.edss == ()
    assert facts.mapping_notes == (
        "Observation/e: EDSS value not on the 0-10 scale in 0.5 steps, ignored",
    )


def test_edss_from_value_integer_string_and_text_code() -> None:
    """valueInteger, a decimal valueString and the scale's name in text are read."""
    facts = facts_of(
        observation("i", code="273554001", valueInteger=3),
        observation("s", "EDSS score", valueString="2.5"),
        observation("n", "Expanded Disability Status Scale"),
    )
    assert sorted(e.score for e in facts.edss) == [2.5, 3.0]
    assert facts.mapping_notes == ("Observation/n: EDSS without a numeric value, ignored",)


def test_entered_in_error_edss_is_ignored() -> None:
    """An Observation entered in error does not count."""
    assert facts_of(edss("e", 3.0, status="entered-in-error")).edss == ()


@pytest.mark.parametrize(
    ("text", "measure"),
    [
        ("Gd-enhancing lesions", MriMeasure.GD_ENHANCING),
        ("Number of gadolinium-enhancing lesions", MriMeasure.GD_ENHANCING),
        ("T1 Gd+ lesion count", MriMeasure.GD_ENHANCING),
        ("New or enlarging T2 lesions", MriMeasure.NEW_OR_ENLARGING_T2),
        ("new/enlarging T2 lesions", MriMeasure.NEW_OR_ENLARGING_T2),
        ("New T2 lesions since last scan", MriMeasure.NEW_OR_ENLARGING_T2),
    ],
)
def test_mri_counts_from_text(text: str, measure: MriMeasure) -> None:
    """Gd-enhancing and new/enlarging T2 lesion counts are recognised by text."""
    facts = facts_of(observation("o", text, valueInteger=2))
    assert [(m.measure, m.count) for m in facts.mri_counts] == [(measure, 2)]


@pytest.mark.parametrize(
    "text", ["Total T2 lesion count", "Non-enhancing lesions", "T2 lesion volume"]
)
def test_non_activity_mri_measures_do_not_match(text: str) -> None:
    """Total T2 counts, volumes and non-enhancing lesions are not activity."""
    assert facts_of(observation("o", text, valueInteger=12)).mri_counts == ()


def test_mri_count_from_local_code_value_quantity_and_components() -> None:
    """A configured local code (valueQuantity) and panel components are read, dated by the panel."""
    system, code = LOCAL.split("|")
    config = MappingConfig(mri_gd_codes=frozenset({LOCAL}))
    panel = observation(
        "panel",
        "MRI brain with and without contrast",
        when="2026-09-14",
        component=[
            {"code": {"text": "Gd-enhancing lesions"}, "valueInteger": 1},
            {"code": {"text": "New or enlarging T2 lesions"}, "valueQuantity": {"value": 3}},
        ],
    )
    facts = facts_of(observation("local", code=code, system=system, value=4), panel, config=config)
    found = sorted((m.source, m.measure, m.count) for m in facts.mri_counts)
    assert found == [
        ("Observation/local", MriMeasure.GD_ENHANCING, 4),
        ("Observation/panel", MriMeasure.GD_ENHANCING, 1),
        ("Observation/panel", MriMeasure.NEW_OR_ENLARGING_T2, 3),
    ]
    assert all(m.on for m in facts.mri_counts if m.source == "Observation/panel")
    assert facts_of(observation("local", code=code, system=system, value=4)).mri_counts == ()


def test_fractional_mri_count_is_ignored_and_noted() -> None:
    """A lesion count that is not a whole number is ignored and noted."""
    facts = facts_of(observation("o", "Gd-enhancing lesions", value=1.5))
    assert facts.mri_counts == ()
    assert facts.mapping_notes == (
        "Observation/o: MRI lesion count is not a whole number, ignored",
    )


def test_gd_and_t2_builders_give_counts() -> None:
    """The test builders' MRI Observations map to the expected measures."""
    facts = facts_of(gd("g", 0), new_t2("t", 2))
    assert sorted((m.measure, m.count) for m in facts.mri_counts) == [
        (MriMeasure.GD_ENHANCING, 0),
        (MriMeasure.NEW_OR_ENLARGING_T2, 2),
    ]
