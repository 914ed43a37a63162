"""mscWarning: an MSC infusion order for a patient with MS.

Fires once per judged MSC order when the order's stated reason is MS, or when it
states no reason and the patient has a current MS diagnosis. An order whose
stated reason is something else (e.g. GVHD, where remestemcel-L is approved) is
left alone. HSCT orders never reach here: the mapping classifies them apart.
"""

from __future__ import annotations

from cards.decision import Decision, RuleInput
from fhir_mappings.facts import OrderKind, OrderReason

__all__ = ["TOPIC", "msc_warning"]

TOPIC = "mscWarning"


def msc_warning(rule_input: RuleInput) -> list[Decision]:
    facts = rule_input.facts
    decisions = []
    for order in rule_input.orders:
        if order.kind is not OrderKind.MSC:
            continue
        if order.reason is OrderReason.NON_MS:
            continue
        if order.reason is OrderReason.NONE and not facts.has_ms:
            continue
        diagnosis_sources = tuple(d.source for d in facts.ms_diagnoses)
        decisions.append(
            Decision(
                topic=TOPIC,
                indicator="critical",
                order_ref=order.ref,
                sources=(*order.sources, *diagnosis_sources),
                explanation={
                    "order": order.ref,
                    "orderMatchedBy": order.matched_by,
                    "msEvidence": "order reason is MS"
                    if order.reason is OrderReason.MS
                    else "current MS diagnosis",
                    "msDiagnoses": [d.matched_by for d in facts.ms_diagnoses],
                },
            )
        )
    return decisions
