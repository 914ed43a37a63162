"""stemCellClarify: an order for "stem cells" that names no product, for a patient with MS.

Neither MSC wording nor a haematopoietic graft can be read from it (`OrderKind.
STEM_CELL_UNSPECIFIED`), so the card asks which product is meant: MSC has no role in MS
outside a registered trial, AHSCT needs a referral (issue 14, "New behaviour"). A
`warning`, not the MSC warning's `critical`: the order may well be legitimate.

Silent where the context is haematopoietic: an HSCT order among the orders judged, a
prior AHSCT, or an active acute GVHD (an allogeneic transplant recipient); silent too
for a recognised indication or a registered trial stated on the order, or a patient
with no MS. One card per response (the first such order); the AHSCT referral is
offered beside it when every AHSCT criterion is met.
"""

from __future__ import annotations

from cards.decision import Decision, RuleInput
from cards.proposals import Proposal
from cards.rules.ahsct import all_met, criteria_for, criteria_sources, referral_proposal
from fhir_mappings.facts import OrderKind, OrderReason

__all__ = ["TOPIC", "stem_cell_clarify"]

TOPIC = "stemCellClarify"


def _haematopoietic_context(rule_input: RuleInput) -> bool:
    facts = rule_input.facts
    if facts.prior_ahsct or facts.gvhd_conditions:
        return True
    return any(o.kind is OrderKind.HSCT for o in rule_input.orders)


def stem_cell_clarify(rule_input: RuleInput) -> list[Decision]:
    facts = rule_input.facts
    if _haematopoietic_context(rule_input):
        return []
    for order in rule_input.orders:
        if order.kind is not OrderKind.STEM_CELL_UNSPECIFIED or order.msc_indication:
            continue
        if order.reason is not OrderReason.MS and not facts.has_ms:
            continue
        proposals: list[Proposal] = []
        sources: list[str] = []
        criteria = criteria_for(rule_input)
        if all_met(criteria):
            proposals.append(referral_proposal(facts))
            sources += criteria_sources(criteria)
        return [
            Decision(
                topic=TOPIC,
                indicator="warning",
                order_ref=order.ref,
                sources=(*order.sources, *(d.source for d in facts.ms_diagnoses), *sources),
                explanation={
                    "order": order.ref,
                    "orderMatchedBy": order.matched_by,
                    "product": "not stated: neither an MSC nor a haematopoietic product",
                    "msEvidence": "order reason is MS"
                    if order.reason is OrderReason.MS
                    else "current MS diagnosis",
                    "haematopoieticContext": "none (no HSCT order, prior AHSCT or acute GVHD)",
                    **({"alternatives": ["AHSCT criteria met"]} if proposals else {}),
                },
                details={"alternatives": proposals},
            )
        ]
    return []
