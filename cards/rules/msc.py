"""mscWarning: an MSC infusion order for a patient with MS.

One card per response (not one per order: an order-sign of many MSC orders would flood
the clinician with near-identical critical cards), naming every judged MSC order whose
stated reason is MS, or every one when the patient has a current MS diagnosis, each
with its own "remove" suggestion and evidence. Only a recognised reason silences an
order (acute GVHD, where remestemcel-L is approved; perianal fistula in Crohn's
disease; an order tied to a registered trial: `DraftOrder.msc_indication`): another
stated non-MS reason, often an MS symptom (gait disorder, fatigue, spasticity), does not.
HSCT orders never reach here: the mapping classifies them apart. When the order
states no reason, an active acute GVHD Condition in the record counts as its reason.

At patient-view (Oracle Health offers no order hook) the orders judged are the open
MSC orders already in the record (`PatientFacts.msc_orders`: draft, active, on-hold,
unknown); only a draft one may be removed from the card (`deletable`).
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
    ahsct_gate,
    all_met,
    criteria_for,
    criteria_sources,
    referral_proposal,
)
from cards.rules.escalation import escalation_case, options
from cards.rules.ppms import OCRELIZUMAB, ppms_case
from cards.rules.ppms import TOPIC as PPMS_TOPIC
from fhir_mappings.facts import DraftOrder, OrderKind, OrderReason, PatientFacts

__all__ = ["MAX_LISTED_ORDERS", "TOPIC", "msc_warning"]

TOPIC = "mscWarning"


def alternatives(rule_input: RuleInput) -> tuple[list[Proposal], list[str], list[str]]:
    """The established alternatives that apply to this patient, why, and from where."""
    facts, config, today = rule_input.facts, rule_input.config, rule_input.today
    proposals: list[Proposal] = []
    why: list[str] = []
    sources: list[str] = []
    criteria = criteria_for(rule_input)
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
# A card names at most this many orders (CDS_MAX_DRAFT_ORDERS' default: an order hook
# never reaches it; a record at patient-view may hold more open MSC orders): the count
# in the summary and the explanation's `ordersNotListed` still say how many there are.
MAX_LISTED_ORDERS = 100


def _silenced(order: DraftOrder, facts: PatientFacts) -> bool:
    """A recognised indication or trial, stated or (GVHD) on the record; or not MS at all."""
    if order.msc_indication is not None:
        return True
    if order.reason is OrderReason.NONE and facts.gvhd_conditions:
        return True
    return order.reason is not OrderReason.MS and not facts.has_ms


def _order_facts(order: DraftOrder, at_order_hook: bool) -> dict[str, object]:
    """One judged order's evidence, as the explanation shows it (no PHI: ids and codes)."""
    facts: dict[str, object] = {
        "order": order.ref,
        "orderMatchedBy": order.matched_by,
        "msEvidence": "order reason is MS"
        if order.reason is OrderReason.MS
        else "current MS diagnosis",
    }
    if order.msc_product:
        facts["orderProduct"] = order.msc_product
    if order.reason is OrderReason.NON_MS:
        facts["statedReason"] = "not MS and not a recognised MSC indication"
    if order.judged_by_display:
        facts["orderJudgedBy"] = JUDGED_BY_DISPLAY
        facts["medicationUnavailable"] = order.medication_unread
    if not at_order_hook:
        facts["orderInRecord"] = {"status": order.status or "not stated"}
    return facts


_HEAD = ("order", "orderMatchedBy", "msEvidence")


def _listed(order: DraftOrder, at_order_hook: bool) -> dict[str, object]:
    """What the card needs to name one order and offer its removal."""
    return {
        "ref": order.ref,
        "product": order.msc_product,
        "matched": order.matched_by,
        "ms_reason": order.reason is OrderReason.MS,
        "status": None if at_order_hook else order.status or "not stated",
        "deletable": at_order_hook or order.status == "draft",
    }


def msc_warning(rule_input: RuleInput) -> list[Decision]:
    """One decision for every judged MSC order the warning applies to (none: no card)."""
    facts = rule_input.facts
    at_order_hook = rule_input.hook in ORDER_HOOKS
    candidates = rule_input.orders if at_order_hook else facts.msc_orders
    judged = [o for o in candidates if o.kind is OrderKind.MSC and not _silenced(o, facts)]
    if not judged:
        return []
    listed, not_listed = judged[:MAX_LISTED_ORDERS], len(judged) - MAX_LISTED_ORDERS
    proposals, why, alternative_sources = alternatives(rule_input)
    diagnoses = facts.ms_diagnoses
    shared: dict[str, object] = {"msDiagnoses": [d.matched_by for d in diagnoses]}
    if why:
        shared["alternatives"] = why
    if len(listed) == 1:  # one order: the facts flat, as the card of one order has them
        one = _order_facts(listed[0], at_order_hook)
        explained = {
            **{k: one[k] for k in _HEAD},
            **shared,
            **{k: v for k, v in one.items() if k not in _HEAD},
        }
    else:
        explained = {
            "orderCount": len(judged),
            "orders": [_order_facts(o, at_order_hook) for o in listed],
            **shared,
        }
        if not_listed > 0:
            explained["ordersNotListed"] = not_listed
    return [
        Decision(
            topic=TOPIC,
            indicator="critical",
            order_ref=listed[0].ref if len(listed) == 1 else None,
            sources=(
                *(s for o in listed for s in o.sources),
                *(d.source for d in diagnoses),
                *alternative_sources,
            ),
            explanation=explained,
            details={
                "alternatives": proposals,
                "diagnoses": [
                    {"course": str(d.course), "source": d.source, "code": d.matched_by}
                    for d in diagnoses
                ],
                "deletable": at_order_hook or listed[0].status == "draft",
                "orders": [_listed(o, at_order_hook) for o in listed],
                "order_count": len(judged),
            },
        )
    ]
