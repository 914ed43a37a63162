"""Medication records -> DMT exposures and refusals; what medication a resource names.

A DMT is recognised by RxNorm ingredient, brand or product code, ATC code (current
or superseded; WHO or German ATC), NDC labeler-product code, or an ingredient or
brand name in the text or coding displays (real orders often carry product codes
or only text). Codes win over text. A code or name of the same molecule in a
non-MS product (Arzerra, Campath, parenteral cladribine) is no DMT.

Exposure: a MedicationRequest that is active, on hold, completed or stopped (an
order, not a proposal or plan; not stopped before any dose); a MedicationStatement
that is active, on hold, completed or stopped; a MedicationAdministration that is
completed, in progress, on hold or stopped. A cancelled, erroneous, draft, not-taken
or not-done record is none; one that says the patient declined is a refusal.
All records of one ingredient merge into one exposure (exposure.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from fhir_mappings.config import MappingConfig
from fhir_mappings.exposure import DoseRecord, merge_exposure
from fhir_mappings.facts import DateSpan, DmtExposure, EfficacyClass, Refusal
from fhir_mappings.reader import Concept, Reference, Resource, target_of
from fhir_mappings.reasons import reasons_of
from fhir_mappings.valuesets import Code, TextPattern, load

__all__ = [
    "DmtMatch",
    "DmtMemo",
    "MedicationReading",
    "dmt_exposures",
    "dmt_of",
    "dmt_products",
    "medication_concepts",
    "read_medications",
]

DmtMatch = tuple[str, EfficacyClass, str]  # ingredient, efficacy class, matched by

NDC = "http://hl7.org/fhir/sid/ndc"
_NDC_ALIASES = {NDC, "urn:oid:2.16.840.1.113883.6.69"}
_NO_INTENT = {"proposal", "plan", "option"}  # not an order to give the drug


def medication_concepts(resource: Resource, unresolved: list[str] | None = None) -> list[Concept]:
    """medicationCodeableConcept, or the referenced Medication's code and ingredients.

    Also reads R5's `medication` CodeableReference ({concept, reference}): EHRs
    mid-migration send it, and an MSC product named there must not be missed.
    A reference to a resource the request does not hold goes to `unresolved` ('Type/id').
    """
    concepts = [resource.concept("medicationCodeableConcept")]
    references = [resource.reference("medicationReference")]
    r5_medication = resource.child("medication") if "medication" in resource else None
    if r5_medication is not None:
        concepts.append(r5_medication.concept("concept"))
        references.append(r5_medication.reference("reference"))
    for reference in references:
        medication = resource.resolve(reference)
        if medication is not None:
            concepts.append(medication.concept("code"))
            concepts += [
                i.concept("itemCodeableConcept") for i in medication.children("ingredient")
            ]
        elif unresolved is not None:
            note_unresolved(reference, unresolved)
    return concepts


def note_unresolved(reference: Reference | None, unresolved: list[str]) -> None:
    """Add 'Type/id' of a reference that could be fetched (not a contained '#id')."""
    if reference is None or reference.reference is None or reference.reference.startswith("#"):
        return
    found = target_of(reference.reference)
    if found is not None:
        unresolved.append(f"{found[0]}/{found[1]}")


_DmtHits = tuple[Code | TextPattern | None, Code | TextPattern | None]  # by code, by code or text
# The DMT matches worked out in one read, by concept (the medication records and the
# record's open orders name the same products).
DmtMemo = dict[Concept, _DmtHits]


def ndc_product(code: str) -> str | None:
    """An NDC as its 5-4 labeler-product key ('50242-150-01', '50242015001' ->
    '50242-0150'); a 10-digit NDC without hyphens is ambiguous: None."""
    code = code.strip()
    parts = code.split("-")
    if len(parts) in (2, 3) and all(p.isdigit() for p in parts):
        labeler, product = parts[0], parts[1]
        if 4 <= len(labeler) <= 5 and 3 <= len(product) <= 4:
            return f"{labeler.zfill(5)}-{product.zfill(4)}"
        return None
    if len(code) == 11 and code.isdigit():
        return f"{code[:5]}-{code[5:9]}"
    return None


def _with_ndc_products(concept: Concept) -> Concept:
    """The concept plus the labeler-product key of each NDC coding (what dmt.json lists)."""
    extra = [
        (NDC, key)
        for system, code in concept.codings
        if system in _NDC_ALIASES and (key := ndc_product(code)) is not None
    ]
    return Concept(concept.codings + tuple(extra), concept.texts) if extra else concept


def dmt_of(
    concepts: list[Concept], config: MappingConfig, seen: DmtMemo | None = None
) -> DmtMatch | None:
    """The DMT these concepts name: a code in any of them first, then a name in text; a
    non-MS product of the same molecule (Arzerra, Campath, IV cladribine) is none.
    `seen`: matches already worked out in this read, by concept."""
    dmt = load("dmt")
    hits: list[_DmtHits] = []
    for concept in concepts:
        if not concept:
            continue
        found = seen.get(concept) if seen is not None else None
        if found is None:
            readable = _with_ndc_products(concept)
            by_code = dmt.match_concept(readable, use_text=False)
            found = (by_code, by_code or dmt.match_concept(readable, use_codes=False))
            if seen is not None:
                seen[concept] = found
        hits.append(found)
    match = next((h[0] for h in hits if h[0]), None) or next((h[1] for h in hits if h[1]), None)
    if match is None or match.attributes.get("not_ms"):
        return None
    attrs = match.attributes
    efficacy = attrs["efficacy"]
    klass = config.s1p_class if efficacy == "s1p" else EfficacyClass(efficacy)
    how = f"{match.system}|{match.code}" if isinstance(match, Code) else "text"
    return str(attrs["ingredient"]), klass, how


def dmt_products(concepts: list[Concept], ingredient: str) -> tuple[str, ...]:
    """The brands / biosimilars of `ingredient` these concepts name (codes, then names)."""
    dmt = load("dmt")
    found: list[str] = []
    for concept in concepts:
        for system, code in _with_ndc_products(concept).codings:
            hit = dmt.lookup(system, code)
            if hit is not None and hit.attributes.get("ingredient") == ingredient:
                found.append(str(hit.attributes.get("product") or ""))
        for text in concept.texts:
            found += [
                str(p.attributes.get("product") or "")
                for p in dmt.matches(text)
                if p.attributes.get("ingredient") == ingredient and not p.attributes.get("not_ms")
            ]
    return tuple(dict.fromkeys(p for p in found if p))


def _record_concepts(resource: Resource) -> list[Concept]:
    """The medication's concepts; a reference the request cannot resolve still names the
    drug by its display (Epic sends medicationReference with a display)."""
    concepts = medication_concepts(resource)
    reference = resource.reference("medicationReference")
    if reference is not None and reference.display and resource.resolve(reference) is None:
        concepts.append(Concept((), (" ".join(reference.display.split()),)))
    return concepts


def _earliest(spans: Iterable[DateSpan | None]) -> DateSpan | None:
    found = [s for s in spans if s is not None]
    return min(found, key=lambda s: (s.earliest, s.latest)) if found else None


def _request_period(
    request: Resource, authored: DateSpan | None
) -> tuple[DateSpan | None, DateSpan | None]:
    starts: list[DateSpan | None] = [authored]
    ends: list[DateSpan | None] = []
    for dosage in request.children("dosageInstruction"):
        timing = dosage.child("timing")
        repeat = timing.child("repeat") if timing else None
        start, end = repeat.period("boundsPeriod") if repeat else (None, None)
        starts.append(start)
        ends.append(end)
    dispense = request.child("dispenseRequest")
    start, end = dispense.period("validityPeriod") if dispense else (None, None)
    starts.append(start)
    ends.append(end)
    found_ends = [e for e in ends if e is not None]
    return _earliest(starts), max(found_ends, key=lambda s: s.latest) if found_ends else None


def _effective(resource: Resource) -> tuple[DateSpan | None, DateSpan | None]:
    """effective[x] as (start, end): a dateTime is both."""
    when = resource.date("effectiveDateTime")
    if when is not None:
        return when, when
    return resource.period("effectivePeriod")


# (exposure statuses, active statuses, statuses where a refusal is read)
_STATUSES: dict[str, tuple[frozenset[str], frozenset[str], frozenset[str]]] = {
    "MedicationRequest": (
        frozenset({"active", "on-hold", "completed", "stopped"}),
        frozenset({"active", "on-hold"}),
        frozenset({"cancelled", "stopped"}),
    ),
    "MedicationStatement": (
        frozenset({"active", "on-hold", "completed", "stopped"}),
        frozenset({"active", "on-hold"}),
        frozenset({"not-taken", "stopped"}),
    ),
    "MedicationAdministration": (
        frozenset({"completed", "in-progress", "on-hold", "stopped"}),
        frozenset(),  # a dose given: current through its window, not by status
        frozenset({"not-done"}),
    ),
}


_Products = dict[tuple[str, tuple[Concept, ...]], tuple[str, ...]]


def _read(
    resource: Resource, found: DmtMatch, concepts: list[Concept], products: _Products
) -> tuple[DoseRecord | None, Refusal | None]:
    """`products`: the products already worked out in this read, by ingredient and concepts."""
    exposed, active_statuses, refusable = _STATUSES[resource.type]
    status = resource.code("status")
    if resource.type == "MedicationRequest":
        if resource.code("intent") in _NO_INTENT:
            return None, None
        authored = resource.date("authoredOn")
        start, end = _request_period(resource, authored)
        dose = (end or start) if status == "completed" else None
        when = authored or start
    else:
        start, end = _effective(resource)
        given = status in {"completed", "in-progress", "on-hold", "stopped"}
        is_dose = resource.type == "MedicationAdministration" and given
        dose = (end or start) if is_dose or status == "completed" else None
        when = start or resource.date("dateAsserted")
    stopping = status in refusable or status == "stopped"
    ended = stopping or status == "completed"
    reasons = reasons_of(resource, with_reason_code=stopping) if ended else None
    refusal = None
    if reasons is not None and reasons.refusal and status in refusable:
        refusal = Refusal(option=found[0], on=when, source=resource.ref)
    if status not in exposed:
        return None, refusal
    if resource.type != "MedicationAdministration" and reasons is not None and status == "stopped":
        if reasons.never_started or reasons.refusal:
            return None, refusal  # stopped before any dose, or declined
    active = status in active_statuses
    ingredient, efficacy, matched_by = found
    record = DoseRecord(
        ingredient=ingredient,
        efficacy=efficacy,
        matched_by=matched_by,
        source=resource.ref,
        active=active,
        start=start,
        end=None if active else end,
        doses=(dose,) if dose is not None else (),
        stop_reasons=reasons.stop if reasons is not None and not active else (),
        products=_products_of(concepts, ingredient, products),
    )
    return record, refusal


def _products_of(concepts: list[Concept], ingredient: str, seen: _Products) -> tuple[str, ...]:
    key = (ingredient, tuple(concepts))
    found = seen.get(key)
    if found is None:
        found = seen[key] = dmt_products(concepts, ingredient)
    return found


class MedicationReading:
    """What the medication records say: one exposure per DMT, and refusals."""

    __slots__ = ("exposures", "refusals")

    def __init__(self, exposures: tuple[DmtExposure, ...], refusals: tuple[Refusal, ...]) -> None:
        self.exposures = exposures
        self.refusals = refusals


def read_medications(
    medications: Iterable[Resource],
    config: MappingConfig,
    today: date,
    seen: DmtMemo | None = None,
) -> MedicationReading:
    """MedicationRequests, MedicationStatements and MedicationAdministrations -> one merged
    exposure per DMT ingredient (current while active or within its label window on
    `today`), and the DMTs the patient declined. `seen`: the DMT matches of this read
    (shared with msc_record.msc_orders_in_record)."""
    by_ingredient: dict[str, list[DoseRecord]] = {}
    refusals: list[Refusal] = []
    seen = {} if seen is None else seen
    products: _Products = {}  # this read only
    done: set[str] = set()
    for resource in medications:
        if resource.type not in _STATUSES:
            continue
        if resource.id is not None:  # the same resource from two searches counts once
            if resource.ref in done:
                continue
            done.add(resource.ref)
        concepts = _record_concepts(resource)
        found = dmt_of(concepts, config, seen)
        if found is None:
            continue
        record, refusal = _read(resource, found, concepts, products)
        if record is not None:
            by_ingredient.setdefault(record.ingredient, []).append(record)
        if refusal is not None:
            refusals.append(refusal)
    windows, onset = config.dmt_window_months, config.onset_months
    exposures = tuple(merge_exposure(r, today, windows, onset) for r in by_ingredient.values())
    return MedicationReading(exposures, tuple(refusals))


def dmt_exposures(
    medications: Iterable[Resource], config: MappingConfig, today: date
) -> list[DmtExposure]:
    """One merged exposure per DMT ingredient the record shows was taken or given."""
    return list(read_medications(medications, config, today).exposures)
