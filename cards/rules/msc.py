"""mscWarning: an MSC infusion order for a patient with MS.

Fires once per judged MSC order when the order's stated reason is MS, or when the
patient has a current MS diagnosis. Only a recognised reason silences it (acute
GVHD, where remestemcel-L is approved; perianal fistula in Crohn's disease; an
order tied to a registered trial: `DraftOrder.msc_indication`): another stated
non-MS reason, often an MS symptom (gait disorder, fatigue, spasticity), does not.
HSCT orders never reach here: the mapping classifies them apart.

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
from fhir_mappings.facts import OrderKind, OrderReason

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


def msc_warning(rule_input: RuleInput) -> list[Decision]:
    facts = rule_input.facts
    decisions = []
    found: tuple[list[Proposal], list[str], list[str]] | None = None
    for order in rule_input.orders:
        if order.kind is not OrderKind.MSC:
            continue
        if order.msc_indication is not None:
            continue
        if order.reason is not OrderReason.MS and not facts.has_ms:
            continue
        diagnosis_sources = tuple(d.source for d in facts.ms_diagnoses)
        found = found or alternatives(rule_input)
        proposals, why, alternative_sources = found
        extra: dict[str, object] = {"alternatives": why} if why else {}
        if order.msc_product:
            extra["orderProduct"] = order.msc_product
        if order.reason is OrderReason.NON_MS:
            extra["statedReason"] = "not MS and not a recognised MSC indication"
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
                },
            )
        )
    return decisions
