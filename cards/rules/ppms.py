"""ppmsOcrelizumab: primary progressive MS and not on ocrelizumab.

Ocrelizumab is the only FDA-approved DMT for PPMS; its benefit is limited to
slowing disability progression. patient-view: PPMS and no current ocrelizumab
(info). Order hooks: a DMT other than ocrelizumab being ordered for PPMS
(warning), unless the order states a reason that is not MS. AHSCT is never
suggested for PPMS (the AHSCT course criterion is not met).
"""

from __future__ import annotations

from cards.decision import Decision, RuleInput
from cards.proposals import medication
from fhir_mappings.facts import DraftOrder, MsCourse, OrderKind, OrderReason, PatientFacts

__all__ = ["OCRELIZUMAB", "TOPIC", "is_ppms", "ppms_ocrelizumab", "ppms_untreated"]

TOPIC = "ppmsOcrelizumab"
OCRELIZUMAB = "ocrelizumab"


def is_ppms(facts: PatientFacts) -> bool:
    return facts.course is not None and facts.course.course is MsCourse.PRIMARY_PROGRESSIVE


def ppms_untreated(facts: PatientFacts) -> bool:
    """PPMS, medication data available, and no current ocrelizumab."""
    if not is_ppms(facts):
        return False
    if {"medicationRequests", "medicationStatements"} <= set(facts.unavailable):
        return False
    return not any(d.ingredient == OCRELIZUMAB for d in facts.current_dmts)


def _other_dmt(orders: tuple[DraftOrder, ...]) -> DraftOrder | None:
    for order in orders:
        if (
            order.kind is OrderKind.DMT
            and order.dmt_ingredient != OCRELIZUMAB
            and order.reason is not OrderReason.NON_MS
        ):
            return order
    return None


def _explanation(facts: PatientFacts, **extra: object) -> dict[str, object]:
    assert facts.course is not None  # noqa: S101 (is_ppms checked it)
    return {
        "course": str(facts.course.course),
        "courseSources": list(facts.course.sources),
        "currentDmts": [
            {"ingredient": d.ingredient, "sources": list(d.sources)} for d in facts.current_dmts
        ],
        **extra,
        "unavailable": list(facts.unavailable),
    }


def ppms_ocrelizumab(rule_input: RuleInput) -> list[Decision]:
    facts = rule_input.facts
    if not is_ppms(facts):
        return []
    assert facts.course is not None  # noqa: S101
    dmt_sources = tuple(s for d in facts.current_dmts for s in d.sources)
    if rule_input.hook == "patient-view":
        if not ppms_untreated(facts):
            return []
        return [
            Decision(
                topic=TOPIC,
                indicator="info",
                sources=(*facts.course.sources, *dmt_sources),
                explanation=_explanation(facts),
                details={
                    "proposals": [
                        medication(TOPIC, OCRELIZUMAB, facts.patient_ref, facts.ms_condition_ref)
                    ]
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
            sources=(*order.sources, *facts.course.sources, *dmt_sources),
            explanation=_explanation(
                facts, order=order.ref, orderedDmt={"ingredient": order.dmt_ingredient}
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
            },
        )
    ]
