"""Property: over generated patients, no card proposes what the gates or another card rule out.

Facts are generated directly (course, certainty, mimics, age, pregnancy, JCV, HBV,
refusals, DMT histories with stop reasons and courses, activity, EDSS), every hook's
rules run, and each response is checked for harm and for contradictions.
"""

from __future__ import annotations

import re
from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st

from cards.config import RuleConfig
from cards.decision import Decision, RuleInput
from cards.engine import decide
from cards.gates import AHSCT, gate_option
from fhir_mappings.facts import (
    Age,
    Certainty,
    Deceased,
    DraftOrder,
    EfficacyClass,
    HbvStatus,
    JcvStatus,
    LabResult,
    Mimic,
    MimicKind,
    MsCourse,
    OrderKind,
    PatientFacts,
    Pregnancy,
    PregnancyState,
    Refusal,
    StopReason,
)
from tests.cards.factbuilders import TODAY, day, dmt, edss, gd, ms, relapse, t2

CONFIG = RuleConfig()
DRUGS = (
    "ocrelizumab",
    "ofatumumab",
    "natalizumab",
    "alemtuzumab",
    "cladribine",
    "rituximab",
    "glatiramer acetate",
    "teriflunomide",
    "interferon beta-1a",
)
DATES = st.sampled_from(
    ["2018-05-01", "2021-03-01", "2024-02-01", "2025-06-01", "2026-05-01", "2026-06-01"]
)
RECENT = st.sampled_from(["2026-05-01", "2026-06-01", "2025-06-01"])
_LEFT_OUT = re.compile(r"^- (\S+) not proposed:", re.MULTILINE)
_SAFETY = {StopReason.ADVERSE_EVENT, StopReason.INFECTION, StopReason.PML_RISK}
_PREGNANCY_EXCLUDED = {"cladribine", "alemtuzumab", "teriflunomide", AHSCT}


@st.composite
def exposures(draw: st.DrawFn) -> Any:
    """A past DMT (any, with stop reasons and courses) or, now and then, a current one."""
    ingredient = draw(st.sampled_from(DRUGS))
    extra: dict[str, Any] = {
        "stop_reasons": tuple(draw(st.lists(st.sampled_from(list(StopReason)), max_size=2))),
        "courses": draw(st.none() | st.integers(1, 3)),
    }
    if draw(st.integers(0, 3)):
        extra["end"] = day(draw(DATES))
    return dmt(ingredient, start=draw(DATES), **extra)


PLATFORM_NOW = st.sampled_from(["glatiramer acetate", "teriflunomide", "interferon beta-1a"])


@st.composite
def patients(draw: st.DrawFn) -> PatientFacts:
    # Weighted towards the patients advice is about: confirmed relapsing MS with activity.
    course = draw(st.sampled_from([MsCourse.RELAPSING_REMITTING] * 4 + list(MsCourse)))
    age = draw(st.none() | st.integers(12, 70))
    fields: dict[str, Any] = {
        "course": course,
        "certainty": draw(st.sampled_from([Certainty.CONFIRMED] * 4 + [Certainty.UNCONFIRMED])),
        "age": age,
        "dmts": tuple(
            {
                d.ingredient: d
                for d in [
                    *draw(st.lists(exposures(), max_size=3)),
                    *draw(st.lists(st.builds(dmt, PLATFORM_NOW, DATES), max_size=1)),
                ]
            }.values()
        ),
        "relapses": tuple(
            relapse(d, f"r{i}") for i, d in enumerate(draw(st.lists(RECENT, max_size=2)))
        ),
        "mri_counts": tuple(draw(st.lists(st.builds(gd, st.integers(0, 3), RECENT), max_size=2)))
        + tuple(draw(st.lists(st.builds(t2, st.integers(0, 3), DATES), max_size=1))),
        "edss": tuple(
            draw(
                st.lists(st.builds(edss, st.sampled_from([2.0, 3.5, 5.0, 7.0]), DATES), max_size=1)
            )
        ),
        "mimics": tuple(
            Mimic(kind=k, matched_by="t", source=f"Condition/{k.value}")
            for k in draw(st.sets(st.sampled_from(list(MimicKind)), max_size=1))
            if draw(st.integers(0, 3)) == 0
        ),
        "refusals": tuple(
            Refusal(option=o, source="Consent/c")
            for o in draw(st.sets(st.sampled_from([*DRUGS[:5], AHSCT]), max_size=1))
        ),
    }
    if draw(st.integers(0, 2)) == 0:
        fields["pregnancy"] = Pregnancy(
            state=draw(st.sampled_from(list(PregnancyState))), matched_by="t", source="Obs/p"
        )
    if draw(st.booleans()):
        fields["jcv"] = JcvStatus(
            result=draw(st.sampled_from(list(LabResult))),
            index=draw(st.none() | st.sampled_from([0.3, 1.2, 2.5])),
            on=day(draw(DATES)),
            source="Obs/jcv",
        )
    if draw(st.booleans()):
        fields["hbv"] = HbvStatus(
            hbsag=draw(st.none() | st.sampled_from(list(LabResult))),
            anti_hbc=draw(st.none() | st.sampled_from(list(LabResult))),
            sources=("Obs/hbv",),
        )
    if draw(st.integers(0, 9)) == 0:
        fields["deceased"] = Deceased(source="Patient/p1")
    facts = ms(**fields)
    if age is not None and draw(st.booleans()):  # a birth year only
        facts = facts.model_copy(
            update={"age": Age(min_years=age, max_years=age + 1, precision="year", source="P/p")}
        )
    return facts


ORDERS = st.lists(
    st.sampled_from(
        [
            DraftOrder(
                ref="ServiceRequest/msc", resource_type="ServiceRequest", kind=OrderKind.MSC
            ),
            DraftOrder(
                ref="MedicationRequest/tf",
                resource_type="MedicationRequest",
                kind=OrderKind.DMT,
                dmt_ingredient="teriflunomide",
                dmt_efficacy=EfficacyClass.PLATFORM,
            ),
            DraftOrder(
                ref="MedicationRequest/ifn",
                resource_type="MedicationRequest",
                kind=OrderKind.DMT,
                dmt_ingredient="interferon beta-1a",
                dmt_efficacy=EfficacyClass.PLATFORM,
            ),
        ]
    ),
    max_size=2,
    unique=True,
)


def _proposed(decision: Decision) -> set[str]:
    found = [*decision.details.get("proposals", []), *decision.details.get("alternatives", [])]
    return {p.ingredient or AHSCT for p in found}


def _left_out(decision: Decision) -> set[str]:
    return set(_LEFT_OUT.findall("\n".join(decision.details.get("notes", []))))


def _failed_or_unsafe(facts: PatientFacts, option: str) -> bool:
    for d in facts.dmts:
        if d.ingredient == option:
            reasons = {*d.stop_reasons, *([d.stop_reason] if d.stop_reason else [])}
            if d.current or reasons & _SAFETY or StopReason.LACK_OF_EFFICACY in reasons:
                return True
    return False


@settings(max_examples=150, deadline=None)
@given(
    facts=patients(),
    hook=st.sampled_from(["patient-view", "order-select", "order-sign"]),
    orders=ORDERS,
)
def test_no_harmful_or_contradicting_cards(
    facts: PatientFacts, hook: str, orders: list[DraftOrder]
) -> None:
    """No proposal a gate forbids, and no response that proposes an option another of its
    cards leaves out, or holds both 'criteria met' and 'cannot be decided' for AHSCT."""
    judged = tuple(orders) if hook != "patient-view" else ()
    rule_input = RuleInput(hook=hook, facts=facts, orders=judged, config=CONFIG, today=TODAY)
    decided = decide(rule_input)
    decisions = [d for _, ds in decided for d in ds]
    for rule, ds in decided:
        for d in ds:
            rule.render(d)  # every decision renders to a valid card
    if facts.deceased is not None:
        assert decisions == []
        return
    proposed = set().union(*map(_proposed, decisions)) if decisions else set()
    left_out = set().union(*map(_left_out, decisions)) if decisions else set()
    assert not proposed & left_out, (proposed, left_out)
    if not facts.ms_confirmed:
        assert proposed == set()
        assert not {d.topic for d in decisions} & {
            "ahsctReferral",
            "dmtEscalation",
            "ppmsOcrelizumab",
            "dataGaps",
        }
    refused = {r.option for r in facts.refusals}
    assert not proposed & refused
    assert not any(_failed_or_unsafe(facts, option) for option in proposed)
    pregnancy = facts.pregnancy
    if pregnancy and pregnancy.state is not PregnancyState.NOT_PREGNANT:
        assert not proposed & _PREGNANCY_EXCLUDED
    if facts.age is not None and facts.age.below(18):
        assert not proposed & {
            "ocrelizumab",
            "ofatumumab",
            "natalizumab",
            "alemtuzumab",
            "cladribine",
        }
    if facts.jcv and facts.jcv.result is LabResult.POSITIVE and (facts.jcv.index or 9) > 1.5:
        assert "natalizumab" not in proposed
    if facts.hbv and facts.hbv.hbsag is LabResult.POSITIVE:
        assert not proposed & {"ocrelizumab", "ofatumumab", "ublituximab"}
    topics = [d.topic for d in decisions]
    event(f"proposals: {bool(proposed)}; topics: {sorted(set(topics))}")
    assert not {"ahsctReferral", "dataGaps"} <= set(topics)
    assert not {"dmtEscalation", "ppmsOcrelizumab"} <= set(topics)
    assert len(topics) == len(set(topics)) or topics.count("mscWarning") > 1


def _forbidden(facts: PatientFacts, option: str) -> str | None:
    """An independent statement of the hard gates: why `option` must not be proposed."""
    if not facts.ms_confirmed:
        return "MS not confirmed"
    if option in {r.option for r in facts.refusals}:
        return "declined"
    if _failed_or_unsafe(facts, option):
        return "current, failed or stopped for safety"
    pregnancy = facts.pregnancy
    if pregnancy and pregnancy.state is not PregnancyState.NOT_PREGNANT:
        if option in _PREGNANCY_EXCLUDED:
            return "pregnancy"
    if option != AHSCT and facts.age is not None and facts.age.below(18):
        return "under 18"
    jcv = facts.jcv
    if option == "natalizumab" and jcv and jcv.result is LabResult.POSITIVE:
        if jcv.index is None or jcv.index > CONFIG.natalizumab_jcv_max_index:
            return "JCV"
    if option in {"ocrelizumab", "ofatumumab"} and facts.hbv:
        if facts.hbv.hbsag is LabResult.POSITIVE:
            return "HBsAg"
    if option in {"alemtuzumab", "cladribine"} and not facts.dmts:
        return "untreated"
    return None


@settings(max_examples=150, deadline=None)
@given(facts=patients())
def test_gates_never_allow_what_a_hard_rule_forbids(facts: PatientFacts) -> None:
    """For every option, a gate that allows it never meets an independent hard rule against it."""
    for option in (*DRUGS[:5], AHSCT):
        gate = gate_option(option, facts, CONFIG, TODAY)
        reason = _forbidden(facts, option)
        assert not (gate.allowed and reason), (option, reason, gate.notes)
        if not gate.allowed:
            assert gate.line() and " not proposed: " in (gate.line() or "")
