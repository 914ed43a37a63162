"""Draft orders (context.draftOrders) -> DraftOrder facts: what is being ordered, and why.

An order is read from MedicationRequest (medicationCodeableConcept, or
medicationReference to a contained `#id` Medication or one elsewhere in the
request) or ServiceRequest (code). Haematopoietic stem cell (AHSCT) wording or
codes always win over MSC wording: an AHSCT order is never called MSC. An order
that is neither is a DMT order when it names an MS disease-modifying therapy.
"""

from __future__ import annotations

from fhir_mappings.conditions import classify_concept
from fhir_mappings.config import MappingConfig
from fhir_mappings.facts import DraftOrder, OrderKind, OrderReason
from fhir_mappings.medications import DmtMatch, dmt_of, medication_concepts, note_unresolved
from fhir_mappings.reader import Concept, Resource
from fhir_mappings.valuesets import Code, TextPattern, load

__all__ = ["ORDER_TYPES", "draft_order_of"]

# ProcedureRequest is STU3's ServiceRequest: still sent by older interfaces.
ORDER_TYPES = frozenset({"MedicationRequest", "ServiceRequest", "ProcedureRequest"})
_CODED_ORDERS = frozenset({"ServiceRequest", "ProcedureRequest"})
_DEAD_STATUSES = {"entered-in-error", "cancelled", "revoked", "completed", "stopped"}


def _describe(found: Code | TextPattern) -> str:
    if isinstance(found, Code):
        return f"{found.system}|{found.code}"
    return f"text /{found.regex.pattern}/"


def _kind(
    concepts: list[Concept], config: MappingConfig
) -> tuple[OrderKind, str | None, DmtMatch | None]:
    """HSCT beats MSC beats DMT: an AHSCT order is never MSC, and neither is ever a DMT."""
    for valueset, kind in ((load("hsct"), OrderKind.HSCT), (load("msc_orders"), OrderKind.MSC)):
        for concept in concepts:
            found = valueset.match_concept(concept) if concept else None
            if found is not None:
                return kind, _describe(found), None
    dmt = dmt_of(concepts, config)
    if dmt is not None:
        return OrderKind.DMT, dmt[2], dmt
    return OrderKind.OTHER, None, None


def _reason(order: Resource, unresolved: list[str]) -> tuple[OrderReason, list[str]]:
    """MS when any stated reason is MS; NON_MS when reasons are stated and none is.

    reasonReference is resolved (contained, draft bundle, prefetch); an
    unresolvable one still counts through its `display`.
    """
    concepts = order.concepts("reasonCode")
    sources: list[str] = []
    for reference in order.references("reasonReference"):
        target = order.resolve(reference)
        if target is not None:
            concepts.append(target.concept("code"))
            if reference.reference and not reference.reference.startswith("#"):
                sources.append(reference.reference)
            continue
        note_unresolved(reference, unresolved)
        if reference.display:
            concepts.append(Concept((), (" ".join(reference.display.split()),)))
    readable = [c for c in concepts if c]
    if not readable:
        return OrderReason.NONE, sources
    if any(classify_concept(c) is not None for c in readable):
        return OrderReason.MS, sources
    return OrderReason.NON_MS, sources


def draft_order_of(
    order: Resource, config: MappingConfig, unresolved: list[str]
) -> DraftOrder | None:
    """The DraftOrder fact for one draft resource, or None when it is not an order.
    References the request does not hold go to `unresolved` ('Type/id')."""
    if order.type not in ORDER_TYPES:
        return None
    if order.code("status") in _DEAD_STATUSES:
        return None
    if order.type in _CODED_ORDERS:
        concepts = [order.concept("code")]
    else:
        concepts = medication_concepts(order, unresolved)
    kind, matched_by, dmt = _kind(concepts, config)
    product = next((c.text[:120] for c in concepts if c.text), None)
    if kind is OrderKind.OTHER:  # no rule judges it: why it is ordered is not read
        return DraftOrder(
            ref=order.ref,
            resource_type=order.type,
            kind=kind,
            product=product,
            sources=(order.ref,),
        )
    reason, reason_sources = _reason(order, unresolved)
    return DraftOrder(
        ref=order.ref,
        resource_type=order.type,
        kind=kind,
        matched_by=matched_by,
        product=product,
        reason=reason,
        sources=(order.ref, *reason_sources),
        dmt_ingredient=dmt[0] if dmt else None,
        dmt_efficacy=dmt[1] if dmt else None,
    )
