"""dmtEscalation: active relapsing MS on a platform DMT or none -> high-efficacy options.

Relapsing MS here: relapsing-remitting, secondary progressive unless coded
non-active, or an unspecified course (documented activity stands for relapsing
disease); never primary progressive, progressive-relapsing or an unspecified
progressive course. Activity: disease activity in the window (activity.py).
patient-view: not when already on a high-efficacy DMT (that is failure: the
AHSCT path), nor when no medication data could be had. Order hooks: when a
platform DMT is being ordered, whatever is current.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from cards.config import RuleConfig
from cards.content import content
from cards.criteria import Status
from cards.decision import Decision, RuleInput
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
    if not facts.has_ms or course is None or course.course not in _RELAPSING:
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


def options(facts: PatientFacts, replaces: str | None = None) -> list[Proposal]:
    """The high-efficacy options of the card content, as MedicationRequest proposals."""
    return [
        medication(TOPIC, name, facts.patient_ref, facts.ms_condition_ref, replaces)
        for name in content(TOPIC)["options"]
    ]


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
        return [
            Decision(
                topic=TOPIC,
                indicator="info",
                sources=case.sources,
                explanation=_explanation(case, facts),
                details={"proposals": options(facts)},
            )
        ]
    order = _platform_order(rule_input.orders)
    if order is None:
        return []
    ordered_case = relapsing_with_activity(facts, config, today)
    if ordered_case is None:
        return []
    return [
        Decision(
            topic=TOPIC,
            indicator="warning",
            order_ref=order.ref,
            sources=(*order.sources, *ordered_case.sources),
            explanation=_explanation(
                ordered_case,
                facts,
                order=order.ref,
                orderedDmt={"ingredient": order.dmt_ingredient, "class": "platform"},
            ),
            details={"proposals": options(facts, replaces=order.ref), "order": True},
        )
    ]
