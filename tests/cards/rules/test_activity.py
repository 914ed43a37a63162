"""Disease activity and high-efficacy DMT failure at their boundaries (today 2026-11-25)."""

from __future__ import annotations

import pytest

from cards.config import RuleConfig
from cards.criteria import Status
from cards.rules.activity import disease_activity, he_failure
from fhir_mappings.config import MappingConfig
from tests.builders import condition
from tests.conftest import TODAY
from tests.records import facts_of, gd, new_t2, relapse, rx, statement

RRMS = condition("ms-1", "426373005", onsetDateTime="2019-03-01")


@pytest.mark.parametrize(
    ("when", "status"),
    [("2025-12-25", Status.MET), ("2025-11-25", Status.MET), ("2025-10-25", Status.UNKNOWN)],
)
def test_relapse_11_months_ago_is_activity_13_months_ago_is_not(when: str, status: Status) -> None:
    """A relapse 11 months ago (or exactly 12) is activity; 13 months ago is outside the window."""
    activity = disease_activity(facts_of(RRMS, relapse("r", when)), RuleConfig(), TODAY)
    assert activity.status is status
    assert [e.source for e in activity.events] == (["Condition/r"] if status is Status.MET else [])


def test_mri_thresholds_for_activity() -> None:
    """One Gd-enhancing or one new T2 lesion is activity; zero lesions on a recent MRI is none."""
    config = RuleConfig()
    assert disease_activity(facts_of(RRMS, gd("g", 1)), config, TODAY).status is Status.MET
    assert disease_activity(facts_of(RRMS, new_t2("t", 1)), config, TODAY).status is Status.MET
    quiet = disease_activity(facts_of(RRMS, gd("g", 0), new_t2("t", 0)), config, TODAY)
    assert quiet.status is Status.NOT_MET


def test_no_recent_mri_leaves_activity_unknown_with_the_gap() -> None:
    """Without relapses or recent MRI counts, activity is unknown and says what is missing."""
    activity = disease_activity(facts_of(RRMS, gd("g", 3, "2024-01-01")), RuleConfig(), TODAY)
    assert activity.status is Status.UNKNOWN
    assert activity.gap == (
        "no MRI lesion counts (Gd-enhancing, new/enlarging T2) in the last 12 months"
    )


def test_partial_date_straddling_the_window_is_uncertain() -> None:
    """A relapse dated only '2025-11' may or may not be in the window starting 2025-11-25."""
    activity = disease_activity(
        facts_of(RRMS, relapse("r", "2025-11"), gd("g", 0)), RuleConfig(), TODAY
    )
    assert activity.status is Status.UNKNOWN
    assert [e.source for e in activity.uncertain] == ["Condition/r"]


@pytest.mark.parametrize(
    ("start", "status"),
    [("2026-01-01", Status.NOT_MET), ("2025-12-01", Status.MET), ("2025-11-01", Status.MET)],
)
def test_he_dmt_started_5_or_7_months_before_activity(start: str, status: Status) -> None:
    """Activity 5 months after starting a HE DMT is not failure; 6 or 7 months after is."""
    facts = facts_of(
        RRMS, rx("ocr", "ocrelizumab", start=start), relapse("r", "2026-06-01"), gd("g", 0)
    )
    criterion = he_failure(facts, RuleConfig(), TODAY)
    assert criterion.status is status
    if status is Status.MET:
        assert criterion.sources == ("MedicationRequest/ocr", "Condition/r")
        assert criterion.date == "2026-06-01"


def test_activity_outside_the_window_is_not_failure() -> None:
    """Activity 13 months ago on a HE DMT, and a quiet recent MRI, is no failure."""
    facts = facts_of(
        RRMS, rx("ocr", "ocrelizumab", start="2020-01-01"), relapse("r", "2025-10-25"), gd("g", 0)
    )
    assert he_failure(facts, RuleConfig(), TODAY).status is Status.NOT_MET


def test_activity_after_the_he_dmt_was_stopped_is_not_its_failure() -> None:
    """Activity after natalizumab ended (for another reason) is not natalizumab failure."""
    facts = facts_of(
        RRMS,
        statement("nat", "natalizumab", status="completed", start="2020-01-01", end="2025-12-01"),
        gd("g", 2, "2026-06-01"),
    )
    assert he_failure(facts, RuleConfig(), TODAY).status is Status.NOT_MET


def test_he_dmt_stopped_for_lack_of_efficacy_is_failure() -> None:
    """A HE DMT stopped for lack of efficacy is failure whatever the dates."""
    facts = facts_of(
        RRMS,
        statement(
            "nat",
            "Tysabri",
            status="stopped",
            start="2018-01-01",
            end="2019-06-01",
            statusReason=[{"text": "breakthrough disease"}],
        ),
    )
    criterion = he_failure(facts, RuleConfig(), TODAY)
    assert criterion.status is Status.MET
    assert criterion.value == "natalizumab stopped for lack of efficacy"


def test_platform_dmt_activity_is_not_he_failure() -> None:
    """Activity on a platform DMT only: no HE DMT recorded, not met."""
    facts = facts_of(RRMS, rx("ifn", "Avonex", start="2020-01-01"), relapse("r", "2026-06-01"))
    criterion = he_failure(facts, RuleConfig(), TODAY)
    assert criterion.status is Status.NOT_MET
    assert criterion.value == "no high-efficacy DMT recorded"


def test_he_failure_unknown_without_medication_data_or_start_date() -> None:
    """Missing medication prefetch or a HE DMT with no start date leaves failure unknown."""
    missing = facts_of(
        RRMS, relapse("r", "2026-06-01"), missing=("medicationRequests", "medicationStatements")
    )
    criterion = he_failure(missing, RuleConfig(), TODAY)
    assert criterion.status is Status.UNKNOWN
    assert criterion.gap == "medicationRequests and medicationStatements could not be retrieved"
    undated = facts_of(RRMS, rx("ocr", "ocrelizumab", start=None), relapse("r", "2026-06-01"))
    criterion = he_failure(undated, RuleConfig(), TODAY)
    assert criterion.status is Status.UNKNOWN
    assert criterion.gap is not None and "record when ocrelizumab was started" in criterion.gap


def test_he_failure_months_is_a_setting() -> None:
    """With he_failure_min_months=3 (the onset of a DMT whose label gives none, in the
    mappings too), activity 5 months after the start is failure; with 6 it is not."""
    records = (RRMS, rx("ocr", "ocrelizumab", start="2026-01-01"), relapse("r", "2026-06-01"))
    facts = facts_of(*records, config=MappingConfig(onset_months=3))
    assert he_failure(facts, RuleConfig(he_failure_min_months=3), TODAY).status is Status.MET
    assert he_failure(facts_of(*records), RuleConfig(), TODAY).status is not Status.MET
