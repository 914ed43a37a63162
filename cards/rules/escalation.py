"""dmtEscalation: active relapsing MS on a platform DMT or none -> high-efficacy options.

Relapsing MS here: relapsing-remitting, secondary progressive unless coded
non-active, or an unspecified course (documented activity stands for relapsing
disease); never primary progressive, progressive-relapsing or an unspecified
progressive course. Activity: disease activity in the window (activity.py).
patient-view: not when already on a high-efficacy DMT (that is failure: the
AHSCT path), nor when no medication data could be had. Order hooks: when a
platform DMT is being ordered, whatever is current.

Safety gates (cards/gates.py): no card unless MS is the current, confirmed diagnosis;
each option is proposed only when its gates allow it, and the card says in one line
why each other option was left out and which caveat each proposed one carries. No
card when no option is left to propose.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from cards.config import RuleConfig
from cards.content import content
from cards.criteria import Status
from cards.decision import Decision, RuleInput
from cards.gates import OptionGate, advice_block, gate_options, left_out_lines
from cards.proposals import Proposal, medication
from cards.rules.activity import Activity, disease_activity
from fhir_mappings.facts import (
    DraftOrder,
    EfficacyClass,
    MsCourse,
    OrderKind,
    OrderReason,
    PatientFacts,
)

__all__ = [
    "TOPIC",
    "EscalationCase",
    "dmt_escalation",
    "escalation_case",
    "gated_options",
    "options",
    "relapsing_with_activity",
]

TOPIC = "dmtEscalation"
_RELAPSING = {
    MsCourse.RELAPSING_REMITTING,
    MsCourse.SECONDARY_PROGRESSIVE,
    MsCourse.UNSPECIFIED,
}


@dataclass(frozen=True)
class EscalationCase:
    course: MsCourse
    activity: Activity
    current: tuple[str, ...]  # current DMT ingredients (platform)
    sources: tuple[str, ...]


def relapsing_with_activity(
    facts: PatientFacts, config: RuleConfig, today: date
) -> EscalationCase | None:
    course = facts.course
    if advice_block(facts) is not None or course is None or course.course not in _RELAPSING:
        return None
    if course.activity == "non-active":
        return None
    activity = disease_activity(facts, config, today)
    if activity.status is not Status.MET:
        return None
    current = facts.current_dmts
    return EscalationCase(
        course=course.course,
        activity=activity,
        current=tuple(d.ingredient for d in current),
        sources=(
            *course.sources,
            *activity.sources,
            *(s for d in current for s in d.sources),
        ),
    )


def escalation_case(facts: PatientFacts, config: RuleConfig, today: date) -> EscalationCase | None:
    """The patient-level case for escalation, or None (incl. already on a HE DMT)."""
    if {"medicationRequests", "medicationStatements"} <= set(facts.unavailable):
        return None  # cannot tell what the patient is on
    if any(d.efficacy is EfficacyClass.HIGH for d in facts.current_dmts):
        return None
    return relapsing_with_activity(facts, config, today)


def gated_options(facts: PatientFacts, config: RuleConfig, today: date) -> tuple[OptionGate, ...]:
    """The high-efficacy options of the card content, each with its safety gates."""
    return gate_options(content(TOPIC)["options"], facts, config, today)


def options(
    facts: PatientFacts, config: RuleConfig, today: date, replaces: str | None = None
) -> list[Proposal]:
    """The options the gates allow, as MedicationRequest proposals."""
    return _proposals(facts, gated_options(facts, config, today), replaces)


def _proposals(
    facts: PatientFacts, gates: tuple[OptionGate, ...], replaces: str | None = None
) -> list[Proposal]:
    return [
        medication(TOPIC, g.option, facts.patient_ref, facts.ms_condition_ref, replaces)
        for g in gates
        if g.allowed
    ]


def _notes(gates: tuple[OptionGate, ...]) -> list[str]:
    lines = left_out_lines(gates)
    return ["", content(TOPIC)["gates_heading"], *lines] if lines else []


def _explanation(case: EscalationCase, facts: PatientFacts, **extra: object) -> dict[str, object]:
    return {
        "course": str(case.course),
        "activity": case.activity.explain(),
        "currentDmts": [
            {"ingredient": d.ingredient, "class": str(d.efficacy), "sources": list(d.sources)}
            for d in facts.current_dmts
        ],
        **extra,
        "unavailable": list(facts.unavailable),
    }


def _gates_explained(gates: tuple[OptionGate, ...]) -> list[dict[str, object]]:
    return [g.explain() for g in gates if g.notes]


def _platform_order(orders: tuple[DraftOrder, ...]) -> DraftOrder | None:
    for order in orders:
        if (
            order.kind is OrderKind.DMT
            and order.dmt_efficacy is EfficacyClass.PLATFORM
            and order.reason is not OrderReason.NON_MS
        ):
            return order
    return None


def dmt_escalation(rule_input: RuleInput) -> list[Decision]:
    facts, config, today = rule_input.facts, rule_input.config, rule_input.today
    if rule_input.hook == "patient-view":
        case = escalation_case(facts, config, today)
        if case is None:
            return []
        gates = gated_options(facts, config, today)
        if not any(g.allowed for g in gates):
            return []
        return [
            Decision(
                topic=TOPIC,
                indicator="info",
                sources=(*case.sources, *(s for g in gates for s in g.evidence)),
                explanation=_explanation(case, facts, gates=_gates_explained(gates)),
                details={"proposals": _proposals(facts, gates), "notes": _notes(gates)},
            )
        ]
    order = _platform_order(rule_input.orders)
    if order is None:
        return []
    ordered_case = relapsing_with_activity(facts, config, today)
    if ordered_case is None:
        return []
    gates = gated_options(facts, config, today)
    if not any(g.allowed for g in gates):
        return []
    return [
        Decision(
            topic=TOPIC,
            indicator="warning",
            order_ref=order.ref,
            sources=(
                *order.sources,
                *ordered_case.sources,
                *(s for g in gates for s in g.evidence),
            ),
            explanation=_explanation(
                ordered_case,
                facts,
                order=order.ref,
                orderedDmt={"ingredient": order.dmt_ingredient, "class": "platform"},
                gates=_gates_explained(gates),
            ),
            details={
                "proposals": _proposals(facts, gates, replaces=order.ref),
                "order": True,
                "notes": _notes(gates),
            },
        )
    ]
