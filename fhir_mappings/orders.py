"""Draft orders (context.draftOrders) -> DraftOrder facts: what is being ordered, and why.

An order is read from MedicationRequest (medicationCodeableConcept, or
medicationReference to a contained `#id` Medication or one elsewhere in the
request) or ServiceRequest (code). Haematopoietic stem cell (AHSCT) wording or
codes always win over MSC wording: an AHSCT order is never called MSC. An order
that is neither is a DMT order when it names an MS disease-modifying therapy.
"""

from __future__ import annotations

from typing import Any

from fhir_mappings.coding import codings, concept_texts, first_str, match_concept, reference_of
from fhir_mappings.conditions import classify_concept
from fhir_mappings.config import MappingConfig
from fhir_mappings.facts import DraftOrder, OrderKind, OrderReason
from fhir_mappings.medications import DmtMatch, dmt_of, medication_concepts, resolve_reference
from fhir_mappings.resources import Resource, ResourcePool
from fhir_mappings.valuesets import Code, TextPattern, load

__all__ = ["ORDER_TYPES", "draft_order_of", "order_concepts"]

# ProcedureRequest is STU3's ServiceRequest: still sent by older interfaces.
ORDER_TYPES = frozenset({"MedicationRequest", "ServiceRequest", "ProcedureRequest"})
_CODED_ORDERS = frozenset({"ServiceRequest", "ProcedureRequest"})
_DEAD_STATUSES = {"entered-in-error", "cancelled", "revoked", "completed", "stopped"}


def order_concepts(resource: dict[str, Any], pool: ResourcePool) -> list[Any]:
    """Every CodeableConcept that says what an order is for (product or service)."""
    if resource.get("resourceType") in _CODED_ORDERS:
        return [resource.get("code")]
    return medication_concepts(resource, pool)


def _describe(found: Code | TextPattern) -> str:
    if isinstance(found, Code):
        return f"{found.system}|{found.code}"
    return f"text /{found.regex.pattern}/"


def _kind(
    concepts: list[Any], config: MappingConfig
) -> tuple[OrderKind, str | None, DmtMatch | None]:
    """HSCT beats MSC beats DMT: an AHSCT order is never MSC, and neither is ever a DMT."""
    hsct, msc = load("hsct"), load("msc_orders")
    for concept in concepts:
        found = match_concept(concept, hsct)
        if found is not None:
            return OrderKind.HSCT, _describe(found), None
    for concept in concepts:
        found = match_concept(concept, msc)
        if found is not None:
            return OrderKind.MSC, _describe(found), None
    dmt = dmt_of(concepts, config)
    if dmt is not None:
        return OrderKind.DMT, dmt[2], dmt
    return OrderKind.OTHER, None, None


def _reason(resource: dict[str, Any], pool: ResourcePool) -> tuple[OrderReason, list[str]]:
    """MS when any stated reason is MS; NON_MS when reasons are stated and none is.

    reasonReference is resolved (contained, draft bundle, prefetch); an
    unresolvable one still counts through its `display`.
    """
    concepts: list[Any] = []
    sources: list[str] = []
    codes = resource.get("reasonCode")
    if isinstance(codes, list):
        concepts.extend(codes)
    refs = resource.get("reasonReference")
    for ref in refs if isinstance(refs, list) else []:
        reference = reference_of(ref)
        target = resolve_reference(resource, reference, pool)
        if target is not None:
            concepts.append(target.get("code"))
            if reference and not reference.startswith("#"):
                sources.append(reference)
        elif isinstance(ref, dict) and first_str(ref.get("display")):
            concepts.append({"text": ref["display"]})
    readable = [c for c in concepts if concept_texts(c) or any(code for _, code, _ in codings(c))]
    if not readable:
        return OrderReason.NONE, sources
    if any(classify_concept(c) is not None for c in readable):
        return OrderReason.MS, sources
    return OrderReason.NON_MS, sources


def _product(concepts: list[Any]) -> str | None:
    for concept in concepts:
        texts = concept_texts(concept)
        if texts:
            return texts[0][:120]
    return None


def _ref(raw: dict[str, Any], rtype: str) -> str:
    rid = raw.get("id")
    return f"{rtype}/{rid}" if isinstance(rid, str) and rid else rtype


def draft_order_of(
    raw: dict[str, Any], pool: ResourcePool, config: MappingConfig | None = None
) -> DraftOrder | None:
    """The DraftOrder fact for one draft resource, or None when it is not an order."""
    rtype = raw.get("resourceType")
    if not isinstance(rtype, str) or rtype not in ORDER_TYPES:
        return None  # a list or object here is unhashable: check the type first
    status = first_str(raw.get("status"))
    if status and status.lower() in _DEAD_STATUSES:
        return None
    # What the order is for is read from the raw JSON: repair may have dropped an element
    # (an R5 `medication`, a wrongly typed coding) that names the product.
    concepts = order_concepts(raw, pool)
    kind, matched_by, dmt = _kind(concepts, config or MappingConfig())
    if kind is OrderKind.OTHER:
        # No rule judges it: the validation budget goes where the rules look.
        ref = _ref(raw, rtype)
        return DraftOrder(
            ref=ref,
            resource_type=rtype,
            kind=kind,
            product=_product(concepts),
            sources=(ref,),
            validated=False,
        )
    resource: Resource = pool.get(raw)
    # Read the repaired JSON when validation succeeded; otherwise read the raw
    # JSON defensively so a damaged order can never hide an MSC product.
    data = resource.data if resource.validated else raw
    reason, reason_sources = _reason(data, pool)
    return DraftOrder(
        ref=resource.ref,
        resource_type=str(rtype),
        kind=kind,
        matched_by=matched_by,
        product=_product(concepts),
        reason=reason,
        sources=(resource.ref, *reason_sources),
        validated=resource.validated,
        dmt_ingredient=dmt[0] if dmt else None,
        dmt_efficacy=dmt[1] if dmt else None,
    )
