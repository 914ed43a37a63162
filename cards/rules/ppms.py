"""ppmsOcrelizumab: primary progressive MS and not on ocrelizumab.

Ocrelizumab is the only FDA-approved DMT for PPMS (ORATORIO: a modest slowing of
disability progression). patient-view: PPMS, medication data available, not on an
anti-CD20 already (ocrelizumab IV or subcutaneous, ofatumumab, ublituximab,
rituximab) (info). Order hooks: a DMT other than ocrelizumab being ordered for PPMS
(warning), unless the order states a reason that is not MS. AHSCT is never
suggested for PPMS (the AHSCT course criterion is not met).

Safety gates and alert fatigue: no card unless MS is the current, confirmed
diagnosis; none when ocrelizumab's gates leave it out (declined, stopped for safety,
failed, HBsAg positive, under 18: cards/gates.py); none outside ORATORIO's population
(age 18-55, EDSS 3.0-6.5 at screening) unless `ppms_outside_trial_population` is set;
a value the record lacks is named instead. `label_region` "eu" adds the EU SmPC's
limit (early PPMS with imaging features of inflammatory activity).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from cards.config import RuleConfig
from cards.content import content
from cards.criteria import in_window, window_start
from cards.decision import Decision, RuleInput
from cards.gates import ANTI_CD20, OptionGate, advice_block, gate_option
from cards.proposals import medication
from fhir_mappings.facts import DraftOrder, MsCourse, OrderKind, OrderReason, PatientFacts

__all__ = [
    "OCRELIZUMAB",
    "TOPIC",
    "PpmsCase",
    "is_ppms",
    "ppms_case",
    "ppms_ocrelizumab",
    "ppms_untreated",
]

TOPIC = "ppmsOcrelizumab"
OCRELIZUMAB = "ocrelizumab"
# ORATORIO entry criteria (Montalban, Neurology 2015;84(14 Suppl):P7.017; NEJM 2017).
ORATORIO_AGE = (18, 55)
ORATORIO_EDSS = (3.0, 6.5)


@dataclass(frozen=True)
class PpmsCase:
    gate: OptionGate  # ocrelizumab's safety gates (allowed, maybe with caveats)
    notes: tuple[str, ...]  # population, caveats and label lines for the card
    sources: tuple[str, ...]


def is_ppms(facts: PatientFacts) -> bool:
    return facts.course is not None and facts.course.course is MsCourse.PRIMARY_PROGRESSIVE


def ppms_untreated(facts: PatientFacts) -> bool:
    """PPMS, medication data available, and no current anti-CD20 (ocrelizumab included)."""
    if not is_ppms(facts):
        return False
    if {"medicationRequests", "medicationStatements"} <= set(facts.unavailable):
        return False
    return not any(d.ingredient in ANTI_CD20 for d in facts.current_dmts)


def _population(
    facts: PatientFacts, config: RuleConfig, today: date
) -> tuple[list[str], list[str], list[str]]:
    """(outside ORATORIO's population, not recorded, sources) for this patient."""
    outside: list[str] = []
    unknown: list[str] = []
    sources: list[str] = []
    low_age, high_age = ORATORIO_AGE
    age = facts.age
    if age is None:
        unknown.append("age")
    else:
        sources.append(age.source)
        if age.max_years < low_age or age.min_years > high_age:
            outside.append(f"age {age.text}")
    start = window_start(today, config.edss_window_months)
    recent = [
        e
        for e in facts.edss
        if e.on and not e.during_relapse and in_window(e.on, start, today) is True
    ]
    low, high = ORATORIO_EDSS
    if not recent:
        unknown.append(f"EDSS in the last {config.edss_window_months} months")
    else:
        latest = max(recent, key=lambda e: e.on.latest if e.on else start)
        sources.append(latest.source)
        if not low <= latest.score <= high:
            outside.append(f"EDSS {latest.score:.1f}")
    return outside, unknown, sources


def ppms_case(facts: PatientFacts, config: RuleConfig, today: date) -> PpmsCase | None:
    """PPMS not on an anti-CD20, ocrelizumab allowed by its gates, in the trial population
    (or the setting allows outside it): the card's notes; else None."""
    if advice_block(facts) is not None or not ppms_untreated(facts):
        return None
    gate = gate_option(OCRELIZUMAB, facts, config, today)
    if not gate.allowed:
        return None
    text = content(TOPIC)
    outside, unknown, sources = _population(facts, config, today)
    if outside and not config.ppms_outside_trial_population:
        return None
    notes: list[str] = []
    if outside:
        notes.append(text["outside_population"].format(values=", ".join(outside)))
    if unknown:
        notes.append(text["population_unknown"].format(missing=" and ".join(unknown)))
    line = gate.line()
    if line:
        notes += ["", text["gates_heading"], line]
    if config.label_region == "eu":
        notes.append(text["eu_label"])
    return PpmsCase(gate, tuple(notes), (*sources, *gate.evidence))


def _other_dmt(orders: tuple[DraftOrder, ...]) -> DraftOrder | None:
    for order in orders:
        if (
            order.kind is OrderKind.DMT
            and order.dmt_ingredient != OCRELIZUMAB
            and order.reason is not OrderReason.NON_MS
        ):
            return order
    return None


def _explanation(facts: PatientFacts, case: PpmsCase, **extra: object) -> dict[str, object]:
    assert facts.course is not None  # noqa: S101 (is_ppms checked it)
    out: dict[str, object] = {
        "course": str(facts.course.course),
        "courseSources": list(facts.course.sources),
        "currentDmts": [
            {"ingredient": d.ingredient, "sources": list(d.sources)} for d in facts.current_dmts
        ],
        **extra,
        "unavailable": list(facts.unavailable),
    }
    if case.gate.notes:
        out["gates"] = [case.gate.explain()]
    return out


def ppms_ocrelizumab(rule_input: RuleInput) -> list[Decision]:
    facts = rule_input.facts
    case = ppms_case(facts, rule_input.config, rule_input.today)
    if case is None:
        return []
    assert facts.course is not None  # noqa: S101
    dmt_sources = tuple(s for d in facts.current_dmts for s in d.sources)
    if rule_input.hook == "patient-view":
        return [
            Decision(
                topic=TOPIC,
                indicator="info",
                sources=(*facts.course.sources, *dmt_sources, *case.sources),
                explanation=_explanation(facts, case),
                details={
                    "proposals": [
                        medication(TOPIC, OCRELIZUMAB, facts.patient_ref, facts.ms_condition_ref)
                    ],
                    "notes": list(case.notes),
                },
            )
        ]
    order = _other_dmt(rule_input.orders)
    if order is None:
        return []
    return [
        Decision(
            topic=TOPIC,
            indicator="warning",
            order_ref=order.ref,
            sources=(*order.sources, *facts.course.sources, *dmt_sources, *case.sources),
            explanation=_explanation(
                facts, case, order=order.ref, orderedDmt={"ingredient": order.dmt_ingredient}
            ),
            details={
                "proposals": [
                    medication(
                        TOPIC,
                        OCRELIZUMAB,
                        facts.patient_ref,
                        facts.ms_condition_ref,
                        replaces=order.ref,
                    )
                ],
                "order": True,
                "notes": list(case.notes),
            },
        )
    ]
