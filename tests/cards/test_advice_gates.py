"""The advice rules through the gates: which cards a patient gets, and the lines they show."""

from __future__ import annotations

from typing import Any

from cards.config import RuleConfig
from cards.decision import RuleInput
from cards.engine import decide
from cards.render import EXPLANATION_KEY
from cds_hooks import Card
from fhir_mappings.facts import (
    Deceased,
    DraftOrder,
    EfficacyClass,
    Mimic,
    MimicKind,
    MsCourse,
    OrderKind,
    Pregnancy,
    PregnancyState,
    Refusal,
)
from tests.cards.factbuilders import TODAY, dmt, edss, gd, ms, relapse

CONFIG = RuleConfig()
# Meets every AHSCT criterion: RRMS since 2019, 36 years, EDSS 3.0, Gd+ MRI, relapse on
# ocrelizumab more than 6 months after its start.
AHSCT_READY: dict[str, Any] = {
    "dmts": (dmt("ocrelizumab", start="2024-01-01"),),
    "relapses": (relapse("2026-05-01"),),
    "mri_counts": (gd(2),),
    "edss": (edss(3.0),),
}
ACTIVE_ON_PLATFORM: dict[str, Any] = {
    "dmts": (dmt("glatiramer acetate", start="2021-01-01"),),
    "relapses": (relapse("2026-05-01"),),
    "mri_counts": (gd(0),),
    "edss": (edss(2.0),),
}


def cards_for(
    hook: str = "patient-view",
    config: RuleConfig = CONFIG,
    orders: tuple[DraftOrder, ...] = (),
    **facts: Any,
) -> list[Card]:
    rule_input = RuleInput(hook=hook, facts=ms(**facts), orders=orders, config=config, today=TODAY)
    return [rule.render(d) for rule, decisions in decide(rule_input) for d in decisions]


def topics(cards: list[Card]) -> list[str]:
    return [c.source.topic.code for c in cards if c.source.topic]


def only(cards: list[Card], topic: str) -> Card:
    (card,) = [c for c in cards if c.source.topic and c.source.topic.code == topic]
    return card


def test_deceased_patient_gets_no_cards_at_all() -> None:
    """Patient.deceased: no rule runs, not even the MSC warning for an MSC order."""
    msc = DraftOrder(ref="ServiceRequest/m", resource_type="ServiceRequest", kind=OrderKind.MSC)
    dead = Deceased(source="Patient/p1")
    assert topics(cards_for(**AHSCT_READY)) == ["ahsctReferral"]
    assert cards_for(deceased=dead, **AHSCT_READY) == []
    assert topics(cards_for("order-sign", orders=(msc,))) == ["mscWarning"]
    assert cards_for("order-sign", orders=(msc,), deceased=dead) == []


def test_nmosd_patient_gets_no_ms_advice() -> None:
    """NMOSD beside an MS entry: no AHSCT, escalation, PPMS or data-gap card."""
    nmosd = (Mimic(kind=MimicKind.NMOSD, matched_by="t", source="Condition/nmo"),)
    assert cards_for(mimics=nmosd, **AHSCT_READY) == []
    assert cards_for(mimics=nmosd, **ACTIVE_ON_PLATFORM) == []
    assert cards_for(course=MsCourse.PRIMARY_PROGRESSIVE, mimics=nmosd) == []


def test_ahsct_card_names_the_threshold_in_force_and_its_owner() -> None:
    """EDSS < 4.0 is shown as this site's setting; 6.0 as the 2025 consensus."""
    site = only(cards_for(**AHSCT_READY), "ahsctReferral").detail or ""
    assert "under 4.0, this site's setting" in site and "uses EDSS < 6.0" in site
    consensus = cards_for(config=RuleConfig(ahsct_max_edss=6.0), **AHSCT_READY)
    text = only(consensus, "ahsctReferral").detail or ""
    assert "under 6.0, as in the 2025 ECTRIMS/EBMT consensus" in text
    assert "hazard ratio 0.07 (95% CI 0.02-0.24)" in text and "JACIE" in text


def test_ahsct_in_pregnancy_names_the_reason_and_proposes_nothing() -> None:
    """Pregnant and meeting every criterion: the card says so, with no referral suggestion."""
    pregnant = Pregnancy(state=PregnancyState.PREGNANT, matched_by="t", source="Obs/preg")
    card = only(cards_for(pregnancy=pregnant, **AHSCT_READY), "ahsctReferral")
    assert card.summary.startswith("AHSCT criteria met, but no referral is proposed now")
    assert not card.suggestions
    assert "- ahsct not proposed: pregnancy recorded (cyclophosphamide" in (card.detail or "")


def test_ahsct_declined_is_not_proposed_again() -> None:
    """A documented refusal of AHSCT: no AHSCT card (nor a data-gap card about it)."""
    declined = (Refusal(option="ahsct", source="Consent/c"),)
    assert cards_for(refusals=declined, **AHSCT_READY) == []


def test_ahsct_card_caveats_for_children_and_spms() -> None:
    """Age 16: 'paediatric evidence is minimal'; SPMS: the progressive-phenotype caveat."""
    child = only(cards_for(age=16, **AHSCT_READY), "ahsctReferral")
    assert child.suggestions and "paediatric evidence is minimal" in (child.detail or "")
    spms = only(cards_for(course=MsCourse.SECONDARY_PROGRESSIVE, **AHSCT_READY), "ahsctReferral")
    assert "progressive phenotypes may be included" in (spms.detail or "")


def test_escalation_in_pregnancy_names_pregnancy() -> None:
    """Pregnant with active RRMS on a platform DMT: cladribine left out for pregnancy."""
    pregnant = Pregnancy(state=PregnancyState.PLANNED, matched_by="t", source="Obs/preg")
    card = only(cards_for(pregnancy=pregnant, **ACTIVE_ON_PLATFORM), "dmtEscalation")
    detail = card.detail or ""
    assert "- cladribine not proposed: planned pregnancy recorded" in detail
    labels = [s.label for s in card.suggestions or []]
    assert not any("cladribine" in label or "alemtuzumab" in label for label in labels)
    assert "- ocrelizumab: planned pregnancy recorded: discuss benefit and risk" in detail


def test_escalation_card_content_has_no_overclaim() -> None:
    """No 'standard of care' claim; a class switch is named beside AHSCT."""
    detail = only(cards_for(**ACTIVE_ON_PLATFORM), "dmtEscalation").detail or ""
    assert "standard of care" not in detail.lower()
    assert "different mechanism" in detail and "AHSCT" in detail


def test_no_escalation_card_when_no_option_is_left() -> None:
    """Age 15: no high-efficacy option has a paediatric indication, so no card."""
    assert "dmtEscalation" not in topics(cards_for(age=15, **ACTIVE_ON_PLATFORM))


def test_data_gap_card_only_when_a_decision_is_at_stake() -> None:
    """Stable on a high-efficacy DMT with no MRI: no 'cannot be assessed' card; a relapse on it
    with no EDSS: a data-gap card whose summary names the missing EDSS."""
    stable = cards_for(dmts=(dmt("natalizumab", start="2023-01-01"),), edss=(edss(2.0),))
    assert stable == []
    gap = cards_for(
        dmts=(dmt("natalizumab", start="2023-01-01"),),
        relapses=(relapse("2026-05-01"),),
        mri_counts=(gd(1),),
    )
    card = only(gap, "dataGaps")
    assert card.summary == "AHSCT referral cannot be decided: missing recent EDSS"


def test_ppms_card_alert_fatigue() -> None:
    """PPMS: no card on rituximab, when ocrelizumab was declined, or outside ORATORIO's
    population (age 60; EDSS 7.0) unless the setting allows it."""
    ppms: dict[str, Any] = {"course": MsCourse.PRIMARY_PROGRESSIVE, "edss": (edss(4.0),)}
    assert topics(cards_for(**ppms)) == ["ppmsOcrelizumab"]
    rituximab = (dmt("rituximab", efficacy=EfficacyClass.HIGH),)
    assert cards_for(dmts=rituximab, **ppms) == []
    declined = (Refusal(option="ocrelizumab", source="Consent/c"),)
    assert cards_for(refusals=declined, **ppms) == []
    assert cards_for(age=60, **ppms) == []
    assert cards_for(course=MsCourse.PRIMARY_PROGRESSIVE, edss=(edss(7.0),)) == []
    allowed = RuleConfig(ppms_outside_trial_population=True)
    card = only(cards_for(config=allowed, age=60, **ppms), "ppmsOcrelizumab")
    assert "Outside the ORATORIO population** (age 60 years)" in (card.detail or "")


def test_ppms_card_eu_label_limit() -> None:
    """label_region 'eu': the SmPC's early-PPMS limit is shown; 'us': it is not."""
    ppms: dict[str, Any] = {"course": MsCourse.PRIMARY_PROGRESSIVE, "edss": (edss(4.0),)}
    eu = only(cards_for(config=RuleConfig(label_region="eu"), **ppms), "ppmsOcrelizumab")
    us = only(cards_for(**ppms), "ppmsOcrelizumab")
    assert "imaging features characteristic of inflammatory activity" in (eu.detail or "")
    assert "EU label" not in (us.detail or "")
    assert "32.9% with ocrelizumab vs 39.3% with placebo" in (us.detail or "")


def test_msc_alternatives_respect_the_gates() -> None:
    """An MSC order for a pregnant patient meeting AHSCT criteria offers no AHSCT referral,
    and for a 15-year-old with active MS no high-efficacy DMT."""
    msc = DraftOrder(ref="ServiceRequest/m", resource_type="ServiceRequest", kind=OrderKind.MSC)
    pregnant = Pregnancy(state=PregnancyState.PREGNANT, matched_by="t", source="Obs/preg")
    (card,) = cards_for("order-sign", orders=(msc,), pregnancy=pregnant, **AHSCT_READY)
    assert not any("AHSCT" in s.label for s in card.suggestions or [])
    (child,) = cards_for("order-sign", orders=(msc,), age=15, **ACTIVE_ON_PLATFORM)
    assert [s.label for s in child.suggestions or []] == ["Remove the MSC infusion order"]
    explained = (child.extension or {})[EXPLANATION_KEY]["facts"]
    assert "alternatives" not in explained
