"""Draft orders (context.draftOrders) -> DraftOrder facts: what is being ordered, and why.

An order is read from MedicationRequest or DSTU2's MedicationOrder
(medicationCodeableConcept, or medicationReference to a contained `#id` Medication or
one elsewhere in the request) or ServiceRequest / STU3 ProcedureRequest (code). A
medicationReference whose Medication cannot be had (not in the request, no fhirServer,
the read failed: `PatientRecord.unread` says which) is judged by its `display`, and the
fact says so (`judged_by_display`, `medication_unread`). When that names nothing this service judges
(a non-formulary "miscellaneous medication", an unlisted code such as HCPCS
J3590), the order's free-text instructions are read too: `note`,
`dosageInstruction.text` / `.patientInstruction`, `patientInstruction`, `orderDetail`.

Precedence: a haematopoietic graft (an HSCT code or wording, "haematopoietic"
in five languages, AHSCT, CD34+, PBSC, mobilisation, conditioning) is HSCT and
never MSC, whatever MSC wording it mixes in; an MSC term is MSC. Wording that names
an MSC source or product ("cord blood-derived MSC", "umbilical cord MSC",
"MSC-derived neural progenitor cells") is no haematopoietic wording. An MSC
term in a laboratory / pathology / imaging order, or in an order naming a
neoplasm ("mesenchymal tumour biopsy"), is no MSC treatment. An order naming stem
cells with none of these words and no transplant ("stem cell therapy / infusion /
injection", in five languages) is STEM_CELL_UNSPECIFIED: which product is meant cannot
be told (read from the order's name only, not its notes). An order that is none of
these is a DMT order when it names an MS disease-modifying therapy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fhir_mappings.conditions import classify_concept
from fhir_mappings.config import MappingConfig
from fhir_mappings.facts import DraftOrder, OrderKind, OrderReason
from fhir_mappings.medications import (
    DmtMatch,
    DmtMemo,
    dmt_of,
    medication_concepts,
    note_unresolved,
)
from fhir_mappings.reader import Concept, Resource, target_of
from fhir_mappings.valuesets import Code, TextPattern, ValueSet, load, none_can_match

__all__ = [
    "NOT_IN_REQUEST",
    "ORDER_TYPES",
    "KindMemo",
    "draft_order_of",
    "may_name_cell_product",
    "order_fact",
]

# ProcedureRequest is STU3's ServiceRequest, MedicationOrder DSTU2's MedicationRequest
# (the public sandbox drafts one when its FHIR server announces DSTU2).
ORDER_TYPES = frozenset(
    {"MedicationRequest", "MedicationOrder", "ServiceRequest", "ProcedureRequest"}
)
_CODED_ORDERS = frozenset({"ServiceRequest", "ProcedureRequest"})
_CELL_TREATMENTS = frozenset({OrderKind.MSC, OrderKind.STEM_CELL_UNSPECIFIED})
_DEAD_STATUSES = {"entered-in-error", "cancelled", "revoked", "completed", "stopped"}
_RESEARCH_STUDY = "http://hl7.org/fhir/StructureDefinition/workflow-researchStudy"
# Why a referenced Medication could not be read, when the edge did not say.
NOT_IN_REQUEST = "not in the request"
NO_TARGET = "the reference names no resource"


def _describe(found: Code | TextPattern) -> str:
    if isinstance(found, Code):
        return f"{found.system}|{found.code}"
    return f"text /{found.regex.pattern}/"


Found = Code | TextPattern


def _all(valueset: ValueSet, concepts: list[Concept]) -> list[Found]:
    """Every code and pattern of `valueset` in these concepts, codes first per concept."""
    found: list[Found] = []
    for concept in concepts:
        for system, code in concept.codings:
            hit = valueset.lookup(system, code)
            if hit is not None:
                found.append(hit)
        for text in concept.texts:
            found += valueset.matches(text)
    return found


_CELL_SETS = ("hsct", "hsct_graft", "msc_orders", "stem_cell_unspecified")


def _cell_kind(concepts: list[Concept], unspecified: bool = True) -> tuple[OrderKind, Found] | None:
    """MSC or HSCT by the precedence in the module docstring; else (with `unspecified`)
    stem cells named with no MSC or HSCT word and no transplant; or None."""
    if all(none_can_match(_CELL_SETS, concept) for concept in concepts):
        return None  # most orders: no code or keyword of any cell product set
    hsct = _all(load("hsct"), concepts) or _all(load("hsct_graft"), concepts)
    if hsct:
        return OrderKind.HSCT, hsct[0]
    msc = _all(load("msc_orders"), concepts)
    if msc:
        return OrderKind.MSC, msc[0]
    if unspecified:
        words = _all(load("stem_cell_unspecified"), concepts)
        if words and not any(w.attributes.get("transplant") for w in words):
            return OrderKind.STEM_CELL_UNSPECIFIED, words[0]
    return None


def _kind(
    concepts: list[Concept], config: MappingConfig, dmts: DmtMemo | None = None
) -> tuple[OrderKind, Found | None, DmtMatch | None]:
    """Cell products (MSC / HSCT) first, then DMT: neither cell product is ever a DMT."""
    cell = _cell_kind(concepts)
    if cell is not None:
        return cell[0], cell[1], None
    dmt = dmt_of(concepts, config, dmts)
    if dmt is not None:
        return OrderKind.DMT, None, dmt
    return OrderKind.OTHER, None, None


def _instructions(order: Resource) -> list[Concept]:
    """The order's free-text instructions, each as a text-only Concept."""
    texts = _note_texts(order)
    texts.append(order.string("patientInstruction"))  # ServiceRequest
    for dosage in order.children("dosageInstruction"):
        texts += [dosage.string("text"), dosage.string("patientInstruction")]
    concepts = [Concept((), (" ".join(t.split()),)) for t in texts if t]
    return concepts + order.concepts("orderDetail")


def _note_texts(order: Resource) -> list[str | None]:
    """The order's notes: Annotations, or DSTU2 MedicationOrder's plain string."""
    if order.type == "MedicationOrder":
        return [order.string("note")]
    return [note.string("text") for note in order.children("note")]


def _medication(
    order: Resource, unresolved: list[str], unread: Mapping[str, str]
) -> tuple[list[Concept], str | None]:
    """What a medication order names, and (when a referenced Medication could not be had
    and its reference's `display` was read instead) why it could not be had."""
    concepts = medication_concepts(order, unresolved)
    references = [order.reference("medicationReference")]
    if order.type == "MedicationRequest" and "medication" in order:  # R5 CodeableReference
        r5 = order.child("medication")
        references.append(r5.reference("reference") if r5 is not None else None)
    why: str | None = None
    for reference in references:
        if reference is None or not reference.display or order.resolve(reference) is not None:
            continue
        concepts.append(Concept((), (" ".join(reference.display.split()),)))
        target = target_of(reference.reference)
        if target is None:
            why = why or NO_TARGET
        else:
            why = why or unread.get(f"{target[0]}/{target[1]}", NOT_IN_REQUEST)
    return concepts, why


def may_name_cell_product(order: Resource) -> bool:
    """False when no cell-product set can match what the order names nor what its
    instructions say: such an order is neither MSC nor HSCT, whatever else it is (the
    record's scan for open MSC orders skips it unread)."""
    if order.type in _CODED_ORDERS:
        concepts = [order.concept("code")]
    else:
        concepts = _medication(order, [], {})[0]
    return not all(
        none_can_match(_CELL_SETS, concept) for concept in (*concepts, *_instructions(order))
    )


def _not_treatment(order: Resource, concepts: list[Concept]) -> bool:
    """A laboratory / pathology / imaging order, or one naming a neoplasm."""
    valueset = load("msc_not_treatment")
    for category in order.concepts("category"):
        if any(valueset.lookup(system, code) for system, code in category.codings):
            return True
        hits = [p for text in category.texts for p in valueset.matches(text)]
        if any(p.attributes.get("on") == "category" for p in hits):
            return True
    return any(
        p.attributes.get("on") == "order"
        for concept in concepts
        for t in concept.texts
        for p in valueset.matches(t)
    )


def _reason(order: Resource, unresolved: list[str]) -> tuple[OrderReason, list[str], list[Concept]]:
    """MS when any stated reason is MS; NON_MS when reasons are stated and none is.

    reasonReference is resolved (contained, draft bundle, prefetch); an
    unresolvable one still counts through its `display`. Also returns the reasons read.
    """
    if order.type == "MedicationOrder":  # DSTU2: one reasonCodeableConcept / reasonReference
        concepts = [order.concept("reasonCodeableConcept")]
        found = order.reference("reasonReference") if "reasonReference" in order else None
        references = [found] if found is not None else []
    else:
        concepts = order.concepts("reasonCode")
        references = order.references("reasonReference")
    # Noted, yet read: the public sandbox's R4 drafts send one reasonCode object, no list.
    # Read only to find an MS reason: a malformed element never silences the warning.
    malformed = [] if concepts else order.concepts("reasonCode", lone=True)
    sources: list[str] = []
    for reference in references:
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
    if any(classify_concept(c) is not None for c in (*readable, *malformed)):
        return OrderReason.MS, sources, readable
    if not readable and not any(malformed):
        return OrderReason.NONE, sources, readable
    return OrderReason.NON_MS, sources, readable


def _msc_indication(order: Resource, reasons: list[Concept]) -> str | None:
    """'gvhd', 'crohn-fistula' or 'trial' when the MSC order has a recognised reason.

    A registry identifier counts in a reason, a note or a supportingInformation
    reference; so does the workflow-researchStudy extension (accepted on any order,
    though the extensions pack lists ServiceRequest only).
    """
    valueset = load("gvhd_and_non_ms_reasons")
    for concept in reasons:
        found = valueset.match_concept(concept)
        if found is not None:
            return str(found.attributes["indication"])
    for extension in order.children("extension"):
        if extension.string("url") == _RESEARCH_STUDY and "valueReference" in extension:
            return "trial"
    texts = _note_texts(order)
    for reference in order.references("supportingInformation"):
        texts += [reference.display, reference.reference]
    for text in texts:
        found = valueset.match_text(text)
        if found is not None and found.attributes.get("indication") == "trial":
            return "trial"
    return None


def draft_order_of(
    order: Resource,
    config: MappingConfig,
    unresolved: list[str],
    unread: Mapping[str, str] | None = None,
) -> DraftOrder | None:
    """The DraftOrder fact for one draft resource, or None when it is not an order.
    References the request does not hold go to `unresolved` ('Type/id'); `unread`: why
    ones the edge looked for could not be had."""
    if order.type not in ORDER_TYPES:
        return None
    if order.code("status") in _DEAD_STATUSES:
        return None
    return order_fact(order, config, unresolved, unread or {})


@dataclass
class KindMemo:
    """What orders' concepts were classified as in one read, by the concepts ("product"
    or "instructions" and the concepts): the orders of one record repeat the same
    product (a DMT ordered every six months). `dmts`: the DMT matches, by concept."""

    kinds: dict[tuple[str, tuple[Concept, ...]], Any] = field(default_factory=dict)
    dmts: DmtMemo = field(default_factory=dict)


def _kind_of(
    concepts: list[Concept], config: MappingConfig, seen: KindMemo | None
) -> tuple[OrderKind, Found | None, DmtMatch | None]:
    if seen is None:
        return _kind(concepts, config)
    key = ("product", tuple(concepts))
    found: tuple[OrderKind, Found | None, DmtMatch | None] | None = seen.kinds.get(key)
    if found is None:
        found = seen.kinds[key] = _kind(concepts, config, seen.dmts)
    return found


def _instruction_kind(
    instructions: list[Concept], seen: KindMemo | None
) -> tuple[OrderKind, Found] | None:
    if seen is None:
        return _cell_kind(instructions, unspecified=False)
    key = ("instructions", tuple(instructions))
    if key not in seen.kinds:
        seen.kinds[key] = _cell_kind(instructions, unspecified=False)
    return seen.kinds[key]  # type: ignore[no-any-return]


def order_fact(
    order: Resource,
    config: MappingConfig,
    unresolved: list[str],
    unread: Mapping[str, str],
    seen: KindMemo | None = None,
) -> DraftOrder:
    """The fact for one order resource, whatever its status (`status` says it). `seen`:
    the kinds already worked out in this read, by the concepts classified."""
    unavailable: str | None = None
    if order.type in _CODED_ORDERS:
        concepts = [order.concept("code")]
    else:
        concepts, unavailable = _medication(order, unresolved, unread)
    kind, found, dmt = _kind_of(concepts, config, seen)
    where = ""
    if kind is OrderKind.OTHER:  # the product may be named only in the instructions
        instructions = _instructions(order)
        cell = _instruction_kind(instructions, seen)  # a note mentioning stem cells: no
        if cell is not None:
            kind, found = cell
            concepts = concepts + instructions
            where = "instructions: "
    if kind in _CELL_TREATMENTS and _not_treatment(order, concepts):
        kind, found = OrderKind.OTHER, None
    matched_by = dmt[2] if dmt else (f"{where}{_describe(found)}" if found else None)
    msc_product = found.attributes.get("product") if found and kind is OrderKind.MSC else None
    product = next((c.text[:120] for c in concepts if c.text), None)
    status = order.code("status")
    if kind is OrderKind.OTHER:  # no rule judges it: why it is ordered is not read
        return DraftOrder(
            ref=order.ref,
            resource_type=order.type,
            kind=kind,
            product=product,
            sources=(order.ref,),
            status=status,
        )
    reason, reason_sources, reasons = _reason(order, unresolved)
    indication = _msc_indication(order, reasons) if kind in _CELL_TREATMENTS else None
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
        msc_product=msc_product,
        msc_indication=indication,
        judged_by_display=unavailable is not None,
        medication_unread=unavailable,
        status=status,
    )
