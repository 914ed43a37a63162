"""AHSCT criteria at their boundaries, the ahsctReferral card and the dataGaps card."""

from __future__ import annotations

from typing import Any

import pytest
from fhir.resources.R4B.servicerequest import ServiceRequest

from cards.config import RuleConfig
from cards.criteria import Status
from cards.render import EXPLANATION_KEY
from cards.rules.ahsct import ahsct_criteria
from tests.builders import ICD10CM, condition
from tests.conftest import TODAY
from tests.records import (
    active_rrms,
    cards_of,
    edss,
    facts_of,
    gd,
    new_t2,
    procedure,
    relapse,
    rx,
    topics,
)


def _criteria(
    *resources: dict[str, Any], config: RuleConfig | None = None, **kw: Any
) -> dict[str, Any]:
    facts = facts_of(*resources, **kw)
    return {c.id: c for c in ahsct_criteria(facts, config or RuleConfig(), TODAY)}


def _replace(
    resources: list[dict[str, Any]], rid: str, new: dict[str, Any] | None
) -> list[dict[str, Any]]:
    out = [r for r in resources if r["id"] != rid]
    return [*out, new] if new else out


def test_active_rrms_meets_every_criterion() -> None:
    """The reference record meets all seven criteria, each with its evidence."""
    criteria = _criteria(*active_rrms())
    assert {k: c.status for k, c in criteria.items()} == {
        "course": Status.MET,
        "age": Status.MET,
        "duration": Status.MET,
        "edss": Status.MET,
        "mriActivity": Status.MET,
        "heDmtFailure": Status.MET,
        "noPriorAhsct": Status.MET,
    }
    assert criteria["edss"].value == "EDSS 3.0" and criteria["edss"].date == "2026-06-01"
    assert criteria["age"].value == "36 years"


@pytest.mark.parametrize(
    ("birth", "status"),
    [("1981-11-26", Status.MET), ("1981-11-25", Status.NOT_MET), ("1981", Status.UNKNOWN)],
)
def test_age_44_99_meets_45_does_not(birth: str, status: Status) -> None:
    """Age 44.99 meets 'under 45'; 45 does not; a year-only birth date cannot decide."""
    assert _criteria(*active_rrms(), birth=birth)["age"].status is status


@pytest.mark.parametrize(("score", "status"), [(3.5, Status.MET), (4.0, Status.NOT_MET)])
def test_edss_3_5_meets_4_0_does_not(score: float, status: Status) -> None:
    """EDSS 3.5 is under 4.0; 4.0 is not."""
    resources = _replace(active_rrms(), "edss-1", edss("edss-1", score))
    assert _criteria(*resources)["edss"].status is status


def test_edss_threshold_is_a_setting() -> None:
    """With the 2025 consensus threshold (6.0) EDSS 4.5 meets the criterion."""
    resources = _replace(active_rrms(), "edss-1", edss("edss-1", 4.5))
    assert _criteria(*resources, config=RuleConfig(ahsct_max_edss=6.0))["edss"].status is Status.MET


def test_latest_edss_in_the_window_decides_and_old_ones_do_not_count() -> None:
    """The latest EDSS in the last 12 months counts; one older than 12 months is a gap."""
    resources = _replace(active_rrms(), "edss-1", edss("edss-1", 3.0, "2026-02-01"))
    later = _criteria(*resources, edss("edss-2", 4.5, "2026-09-01"))["edss"]
    assert (later.status, later.sources) == (Status.NOT_MET, ("Observation/edss-2",))
    old = _criteria(*_replace(active_rrms(), "edss-1", edss("edss-1", 3.0, "2025-10-01")))["edss"]
    assert (old.status, old.gap) == (Status.UNKNOWN, "no EDSS in the last 12 months")


@pytest.mark.parametrize(
    ("onset", "status"),
    [
        ("2017-01-01", Status.MET),
        ("2016-11-26", Status.MET),
        ("2016-11-25", Status.NOT_MET),
        ("2016", Status.UNKNOWN),
    ],
)
def test_duration_9_9_years_meets_10_does_not(onset: str, status: Status) -> None:
    """Onset 9.9 years ago meets 'under 10 years'; exactly 10 does not; '2016' cannot decide."""
    resources = _replace(active_rrms(), "ms-1", condition("ms-1", "426373005", onsetDateTime=onset))
    assert _criteria(*resources)["duration"].status is status


def test_missing_onset_uses_the_first_dmt_start_or_is_unknown() -> None:
    """No onset date: the earliest DMT start dates the disease; with no date at all the
    duration is unknown ('onset date missing')."""
    no_onset = _replace(active_rrms(), "ms-1", condition("ms-1", "426373005"))
    by_dmt = _criteria(*no_onset)["duration"]
    assert by_dmt.status is Status.MET and by_dmt.sources == ("MedicationRequest/ocr-1",)
    assert by_dmt.value == "2.9 years since the first DMT start"
    bare = [r for r in no_onset if r["id"] not in ("ocr-1", "relapse-1")]
    none = _criteria(*bare)["duration"]
    assert none.status is Status.UNKNOWN
    assert none.gap == "onset date missing: record the MS onset date (Condition.onsetDateTime)"


@pytest.mark.parametrize(
    ("recorded", "status"),
    [
        ("2020-02-02", Status.UNKNOWN),
        ("2016-11-25", Status.NOT_MET),
        ("2016-11-26", Status.UNKNOWN),
    ],
)
def test_recorded_date_is_a_lower_bound_only(recorded: str, status: Status) -> None:
    """A recordedDate older than any other date bounds the duration from below: 10 years
    or more is known (not met), under 10 years never is (unknown, never met)."""
    resources = _replace(
        active_rrms(), "ms-1", condition("ms-1", "426373005", recordedDate=recorded)
    )
    duration = _criteria(*resources)["duration"]
    assert duration.status is status
    assert duration.value is not None and "lower bound" in duration.value
    assert duration.sources == ("Condition/ms-1",)


def test_recorded_date_gives_way_to_older_evidence() -> None:
    """A recordedDate newer than the first DMT start: the DMT start dates the disease."""
    resources = _replace(
        active_rrms(), "ms-1", condition("ms-1", "426373005", recordedDate="2025-02-02")
    )
    duration = _criteria(*resources)["duration"]
    assert duration.status is Status.MET
    assert duration.sources == ("MedicationRequest/ocr-1",)


@pytest.mark.parametrize(
    ("mri", "status"),
    [
        ([gd("gd-1", 1)], Status.MET),
        ([gd("gd-1", 0), new_t2("t2", 2)], Status.MET),
        ([gd("gd-1", 0), new_t2("t2", 1)], Status.NOT_MET),
        ([gd("gd-1", 4, "2025-10-01")], Status.UNKNOWN),
    ],
)
def test_high_focal_mri_activity(mri: list[dict[str, Any]], status: Status) -> None:
    """>= 1 Gd-enhancing or >= 2 new/enlarging T2 lesions in 12 months; none recent is unknown."""
    resources = [*_replace(active_rrms(), "gd-1", None), *mri]
    assert _criteria(*resources)["mriActivity"].status is status


@pytest.mark.parametrize(
    ("dx", "status"),
    [
        (condition("ms-1", "G35.C1", system=ICD10CM, onsetDateTime="2019-03-01"), Status.MET),
        (condition("ms-1", "G35.C2", system=ICD10CM, onsetDateTime="2019-03-01"), Status.NOT_MET),
        (condition("ms-1", "G35.C0", system=ICD10CM, onsetDateTime="2019-03-01"), Status.MET),
        (condition("ms-1", "428700003", onsetDateTime="2019-03-01"), Status.NOT_MET),
        (condition("ms-1", "G35.D", system=ICD10CM, onsetDateTime="2019-03-01"), Status.UNKNOWN),
    ],
)
def test_course_criterion(dx: dict[str, Any], status: Status) -> None:
    """Active SPMS (coded, or documented activity) meets; non-active SPMS and PPMS do not."""
    assert _criteria(*_replace(active_rrms(), "ms-1", dx))["course"].status is status


def test_prior_ahsct_and_missing_procedures() -> None:
    """A prior AHSCT procedure fails the criterion; missing procedures make it unknown."""
    prior = _criteria(*active_rrms(), procedure("p", code="234336002"))["noPriorAhsct"]
    assert (prior.status, prior.sources) == (Status.NOT_MET, ("Procedure/p",))
    missing = _criteria(*active_rrms(), missing=("procedures",))["noPriorAhsct"]
    assert (missing.status, missing.gap) == (Status.UNKNOWN, "procedures could not be retrieved")


def test_ahsct_referral_card_at_patient_view() -> None:
    """All criteria met: an info ahsctReferral card with a draft ServiceRequest proposal."""
    cards = cards_of("patient-view", *active_rrms())
    assert topics(cards) == ["ahsctReferral"]
    (card,) = cards
    assert card.indicator == "info" and card.selectionBehavior == "any"
    assert card.detail is not None and "**not** mesenchymal stem cell (MSC) therapy" in card.detail
    assert (
        "- **EDSS under 4.0 (measured in the last 12 months)**: met: EDSS 3.0 (2026-06-01)"
        in card.detail
    )
    assert "87%" not in card.detail
    assert card.suggestions is not None and card.suggestions[0].actions is not None
    resource = card.suggestions[0].actions[0].resource
    assert resource is not None
    ServiceRequest.model_validate(resource)
    assert (resource["status"], resource["intent"]) == ("draft", "proposal")
    assert resource["category"][0]["coding"][0]["code"] == "3457005"
    assert resource["code"]["coding"][0]["code"] == "183567007"  # a referral, not the HSCT
    assert resource["reasonReference"] == [{"reference": "Condition/ms-1"}]
    assert resource["subject"] == {"reference": "Patient/pat-1"}
    explained = card.extension and card.extension[EXPLANATION_KEY]
    assert explained and explained["rule"] == "ahsctReferral"
    assert {"Observation/edss-1", "Condition/relapse-1", "MedicationRequest/ocr-1"} <= set(
        explained["resources"]
    )
    assert "1990" not in str(card.extension)


def test_no_ahsct_card_for_ppms_even_with_activity() -> None:
    """PPMS never gets an AHSCT referral (nor a dataGaps card about it)."""
    resources = _replace(
        active_rrms(), "ms-1", condition("ms-1", "428700003", onsetDateTime="2019-03-01")
    )
    assert "ahsctReferral" not in topics(cards_of("patient-view", *resources))
    assert "dataGaps" not in topics(cards_of("patient-view", *resources))


def test_data_gaps_card_lists_what_to_record() -> None:
    """No criterion unmet but EDSS and onset unknown (a year-only onset that straddles
    10 years ago): a dataGaps card says what to record."""
    year_only = condition("ms-1", "426373005", onsetDateTime="2016")
    resources = _replace(_replace(active_rrms(), "edss-1", None), "ms-1", year_only)
    cards = cards_of("patient-view", *resources)
    assert topics(cards) == ["dataGaps"]
    detail = cards[0].detail or ""
    assert "- no EDSS in the last 12 months" in detail
    assert "- record the full MS onset date" in detail
    assert cards[0].suggestions is None


def test_data_gaps_names_prefetch_that_could_not_be_retrieved() -> None:
    """Missing observations prefetch: the dataGaps card says observations could not be retrieved."""
    cards = cards_of("patient-view", *active_rrms(), missing=("observations",))
    assert topics(cards) == ["dataGaps"]
    assert "- observations could not be retrieved" in (cards[0].detail or "")
    explained = cards[0].extension and cards[0].extension[EXPLANATION_KEY]
    assert explained and explained["facts"]["unavailable"] == ["observations"]


def test_no_data_gaps_when_a_criterion_is_not_met() -> None:
    """A criterion not met (EDSS 6.0) blocks AHSCT: no dataGaps card even with other gaps."""
    resources = _replace(_replace(active_rrms(), "edss-1", edss("edss-1", 6.0)), "gd-1", None)
    assert topics(cards_of("patient-view", *resources)) == []


def test_no_cards_without_ms() -> None:
    """A patient without MS gets no AHSCT, gap, escalation or PPMS card."""
    resources = [r for r in active_rrms() if r["resourceType"] != "Condition"]
    assert cards_of("patient-view", *resources, relapse("x", None, verification="refuted")) == []


def test_ahsct_cards_only_at_patient_view() -> None:
    """ahsctReferral and dataGaps never show at order hooks."""
    assert (
        cards_of("order-sign", *active_rrms(), drafts=[rx("vd", "vitamin D", status="draft")]) == []
    )


def test_criteria_worked_out_once_per_rule_input_and_not_across_inputs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The AHSCT criteria are worked out once per rule input, whichever rules ask."""
    import cards.rules.ahsct as ahsct
    from cards.decision import RuleInput
    from cards.rules.gaps import data_gaps

    calls: list[object] = []
    original = ahsct.ahsct_criteria

    def counted(*args: Any) -> Any:
        calls.append(args[0])
        return original(*args)

    monkeypatch.setattr(ahsct, "ahsct_criteria", counted)
    facts = facts_of(*active_rrms())
    first = RuleInput("patient-view", facts, (), RuleConfig(), TODAY)
    assert ahsct.criteria_for(first) is ahsct.criteria_for(first)
    ahsct.ahsct_referral(first)
    data_gaps(first)
    assert len(calls) == 1
    second = RuleInput("patient-view", facts, (), RuleConfig(), TODAY)
    assert ahsct.criteria_for(second) == ahsct.criteria_for(first)
    assert len(calls) == 2


def test_rules_read_the_criteria_up_to_the_first_not_met() -> None:
    """A criterion not met decides every rule that reads the criteria: the rules' list
    ends there; `ahsct_criteria` still judges all seven."""
    from cards.decision import RuleInput
    from cards.rules.ahsct import criteria_for

    def shared(facts: Any) -> list[Any]:
        return criteria_for(RuleInput("patient-view", facts, (), RuleConfig(), TODAY))

    ppms = condition("ms-1", "428700003", onsetDateTime="2019-03-01")
    facts = facts_of(*_replace(active_rrms(), "ms-1", ppms))
    assert [(c.id, c.status) for c in shared(facts)] == [("course", Status.NOT_MET)]
    assert len(ahsct_criteria(facts, RuleConfig(), TODAY)) == 7
    rrms = facts_of(*active_rrms())
    assert shared(rrms) == ahsct_criteria(rrms, RuleConfig(), TODAY)
