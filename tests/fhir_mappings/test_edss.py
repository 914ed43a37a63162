"""EDSS as EHRs record it (decimal comma, valueString, coded score, panel component) and
the during-relapse rule: a score within the set days of a relapse onset is not the
baseline when an out-of-relapse score exists (ignored, with why)."""

from __future__ import annotations

from typing import Any

import pytest

from fhir_mappings.config import MappingConfig
from tests.records import edss, facts_of, observation, relapse


@pytest.mark.parametrize(
    ("value", "score"),
    [
        ({"valueString": "4,5"}, 4.5),
        ({"valueString": "EDSS 3.5"}, 3.5),
        ({"valueString": "6.0/10"}, 6.0),
        ({"valueInteger": 2}, 2.0),
        ({"valueCodeableConcept": {"coding": [{"system": "urn:local", "code": "SCORE4_5"}]}}, 4.5),
        ({"valueCodeableConcept": {"text": "EDSS score 2,5"}}, 2.5),
    ],
)
def test_edss_value_shapes(value: dict[str, Any], score: float) -> None:
    """Decimal comma, text, integer and coded scores are read as the score they state."""
    facts = facts_of(observation("e", code="273554001", **value))
    assert [e.score for e in facts.edss] == [score]


@pytest.mark.parametrize(
    "value",
    [
        {"valueString": "< 4"},
        {
            "valueCodeableConcept": {
                "coding": [{"system": "urn:local", "code": "SCORE_LESS_THAN_4"}]
            }
        },
        {"valueString": "between 3 and 4"},
        {"valueString": "4,25"},
    ],
)
def test_bands_and_off_scale_values_are_no_score(value: dict[str, Any]) -> None:
    """A band ('<4'), two numbers, or a value off the 0.5-step scale is no score (noted)."""
    facts = facts_of(observation("e", code="273554001", **value))
    assert facts.edss == ()
    assert any("Observation/e" in n for n in facts.mapping_notes)


def test_edss_component_of_a_panel() -> None:
    """An EDSS component of a neurological panel is a score dated by the panel."""
    panel = observation(
        "panel",
        "Neurostatus",
        when="2026-02-02",
        component=[
            {"code": {"text": "Pyramidal FS"}, "valueInteger": 2},
            {
                "code": {"coding": [{"system": "http://snomed.info/sct", "code": "273554001"}]},
                "valueString": "3,0",
            },
        ],
    )
    facts = facts_of(panel)
    assert [(e.score, e.source) for e in facts.edss] == [(3.0, "Observation/panel")]
    assert facts.edss[0].on is not None and facts.edss[0].on.text == "2026-02-02"


def test_during_relapse_score_is_ignored_when_a_clean_one_exists() -> None:
    """EDSS 5.0 ten days after a relapse onset is ignored (and says why) when EDSS 3.0
    was measured out of relapse."""
    facts = facts_of(
        relapse("r1", "2026-05-01"),
        edss("during", 5.0, "2026-05-11"),
        edss("clean", 3.0, "2026-02-01"),
    )
    assert [e.source for e in facts.edss] == ["Observation/clean"]
    assert [(i.what, i.source) for i in facts.ignored] == [("edss", "Observation/during")]
    assert "within 30 days of its onset" in facts.ignored[0].reason


def test_only_during_relapse_scores_are_kept_and_flagged() -> None:
    """With no out-of-relapse score, the during-relapse one stays, flagged."""
    facts = facts_of(relapse("r1", "2026-05-01"), edss("during", 5.0, "2026-05-11"))
    assert [(e.source, e.during_relapse) for e in facts.edss] == [("Observation/during", True)]
    assert facts.ignored == ()


@pytest.mark.parametrize(("days", "ignored"), [(5, False), (10, True), (30, True)])
def test_relapse_window_is_a_setting(days: int, ignored: bool) -> None:
    """edss_relapse_days sets the window: 10 days after onset is outside a 5-day window."""
    facts = facts_of(
        relapse("r1", "2026-05-01"),
        edss("during", 5.0, "2026-05-11"),
        edss("clean", 3.0, "2026-02-01"),
        config=MappingConfig(edss_relapse_days=days),
    )
    assert bool(facts.ignored) is ignored
    assert len(facts.edss) == (1 if ignored else 2)


def test_score_before_the_relapse_is_not_during_it() -> None:
    """A score the day before a relapse onset is an out-of-relapse score."""
    facts = facts_of(relapse("r1", "2026-05-01"), edss("before", 3.5, "2026-04-30"))
    assert [e.during_relapse for e in facts.edss] == [False]
