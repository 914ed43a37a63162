"""mscWarning: an MSC infusion order for a patient with MS.

Fires once per judged MSC order when the order's stated reason is MS, or when the
patient has a current MS diagnosis. Only a recognised reason silences it (acute
GVHD, where remestemcel-L is approved; perianal fistula in Crohn's disease; an
order tied to a registered trial: `DraftOrder.msc_indication`): another stated
non-MS reason, often an MS symptom (gait disorder, fatigue, spasticity), does not.
HSCT orders never reach here: the mapping classifies them apart. When the order
states no reason, an active acute GVHD Condition in the record counts as its reason.

At patient-view (Oracle Health offers no order hook) the orders judged are the open
MSC orders already in the record (`PatientFacts.msc_orders`: draft, active, on-hold,
unknown); only a draft one may be removed from the card (`details["deletable"]`).
An order known only by its medicationReference's `display` (the Medication could
not be read) says so in the explanation.

The card also offers the established alternatives: an AHSCT referral when every
AHSCT criterion is met; the high-efficacy DMT options when escalation applies;
ocrelizumab for PPMS not on it.
"""

from __future__ import annotations

from cards.decision import Decision, RuleInput
from cards.proposals import Proposal, medication
from cards.rules.ahsct import (
    ahsct_criteria,
    ahsct_gate,
    all_met,
    criteria_sources,
    referral_proposal,
)
from cards.rules.escalation import escalation_case, options
from cards.rules.ppms import OCRELIZUMAB, ppms_case
from cards.rules.ppms import TOPIC as PPMS_TOPIC
from fhir_mappings.facts import DraftOrder, OrderKind, OrderReason, PatientFacts

__all__ = ["TOPIC", "msc_warning"]

TOPIC = "mscWarning"


def alternatives(rule_input: RuleInput) -> tuple[list[Proposal], list[str], list[str]]:
    """The established alternatives that apply to this patient, why, and from where."""
    facts, config, today = rule_input.facts, rule_input.config, rule_input.today
    proposals: list[Proposal] = []
    why: list[str] = []
    sources: list[str] = []
    criteria = ahsct_criteria(facts, config, today)
    if all_met(criteria) and ahsct_gate(facts, config, today).allowed:
        proposals.append(referral_proposal(facts))
        why.append("AHSCT criteria met")
        sources += criteria_sources(criteria)
    case = escalation_case(facts, config, today)
    allowed = options(facts, config, today) if case is not None else []
    if case is not None and allowed:  # the safety gates may leave no option
        proposals += allowed
        why.append("DMT escalation applies")
        sources += case.sources
    if ppms_case(facts, config, today) is not None:
        proposals.append(
            medication(PPMS_TOPIC, OCRELIZUMAB, facts.patient_ref, facts.ms_condition_ref)
        )
        why.append("PPMS not on ocrelizumab")
    return proposals, why, sources


ORDER_HOOKS = frozenset({"order-select", "order-sign"})
JUDGED_BY_DISPLAY = "medicationReference.display (the Medication could not be read)"


def _silenced(order: DraftOrder, facts: PatientFacts) -> bool:
    """A recognised indication or trial, stated or (GVHD) on the record; or not MS at all."""
    if order.msc_indication is not None:
        return True
    if order.reason is OrderReason.NONE and facts.gvhd_conditions:
        return True
    return order.reason is not OrderReason.MS and not facts.has_ms


def msc_warning(rule_input: RuleInput) -> list[Decision]:
    facts = rule_input.facts
    at_order_hook = rule_input.hook in ORDER_HOOKS
    orders = rule_input.orders if at_order_hook else facts.msc_orders
    decisions = []
    found: tuple[list[Proposal], list[str], list[str]] | None = None
    for order in orders:
        if order.kind is not OrderKind.MSC or _silenced(order, facts):
            continue
        diagnosis_sources = tuple(d.source for d in facts.ms_diagnoses)
        found = found or alternatives(rule_input)
        proposals, why, alternative_sources = found
        extra: dict[str, object] = {"alternatives": why} if why else {}
        if order.msc_product:
            extra["orderProduct"] = order.msc_product
        if order.reason is OrderReason.NON_MS:
            extra["statedReason"] = "not MS and not a recognised MSC indication"
        if order.judged_by_display:
            extra["orderJudgedBy"] = JUDGED_BY_DISPLAY
            extra["medicationUnavailable"] = order.medication_unread
        if not at_order_hook:
            extra["orderInRecord"] = {"status": order.status or "not stated"}
        decisions.append(
            Decision(
                topic=TOPIC,
                indicator="critical",
                order_ref=order.ref,
                sources=(*order.sources, *diagnosis_sources, *alternative_sources),
                explanation={
                    "order": order.ref,
                    "orderMatchedBy": order.matched_by,
                    "msEvidence": "order reason is MS"
                    if order.reason is OrderReason.MS
                    else "current MS diagnosis",
                    "msDiagnoses": [d.matched_by for d in facts.ms_diagnoses],
                    **extra,
                },
                details={
                    "alternatives": proposals,
                    "diagnoses": [
                        {"course": str(d.course), "source": d.source, "code": d.matched_by}
                        for d in facts.ms_diagnoses
                    ],
                    "deletable": at_order_hook or order.status == "draft",
                },
            )
        )
    return decisions
