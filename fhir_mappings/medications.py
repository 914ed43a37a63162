"""MedicationRequest / MedicationStatement -> DMT exposures; what medication a resource names.

A DMT is recognised by RxNorm ingredient or brand code, ATC code, or an
ingredient/brand name in the text or coding displays (real orders often carry
product codes or only text). Codes win over text. All records of one
ingredient merge into one exposure.
"""

from __future__ import annotations

from collections.abc import Iterable

from fhir_mappings.config import MappingConfig
from fhir_mappings.facts import DateSpan, DmtExposure, EfficacyClass, StopReason
from fhir_mappings.reader import Concept, Reference, Resource, target_of
from fhir_mappings.valuesets import Code, TextPattern, load

__all__ = ["DmtMatch", "dmt_exposures", "dmt_of", "medication_concepts"]

DmtMatch = tuple[str, EfficacyClass, str]  # ingredient, efficacy class, matched by

_CURRENT = {"active", "on-hold"}
_PAST = {"completed", "stopped"}


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


def dmt_of(
    concepts: list[Concept], config: MappingConfig, seen: dict[Concept, _DmtHits] | None = None
) -> DmtMatch | None:
    """The DMT these concepts name: a code in any of them first, then a name in text.
    `seen`: matches already worked out in this read, by concept."""
    dmt = load("dmt")
    hits: list[_DmtHits] = []
    for concept in concepts:
        if not concept:
            continue
        found = seen.get(concept) if seen is not None else None
        if found is None:
            by_code = dmt.match_concept(concept, use_text=False)
            found = (by_code, by_code or dmt.match_concept(concept))
            if seen is not None:
                seen[concept] = found
        hits.append(found)
    match = next((h[0] for h in hits if h[0]), None) or next((h[1] for h in hits if h[1]), None)
    if match is None:
        return None
    attrs = match.attributes
    efficacy = attrs["efficacy"]
    klass = config.s1p_class if efficacy == "s1p" else EfficacyClass(efficacy)
    how = f"{match.system}|{match.code}" if isinstance(match, Code) else "text"
    return str(attrs["ingredient"]), klass, how


def _stop_reason(resource: Resource) -> StopReason | None:
    texts = [t for c in resource.concepts("statusReason", lone=True) for t in c.texts]
    if not texts:
        return None
    stop = load("dmt_stop_reasons")
    if any(stop.matches(t) for t in texts):
        return StopReason.LACK_OF_EFFICACY
    return StopReason.OTHER


def _earliest(spans: Iterable[DateSpan | None]) -> DateSpan | None:
    found = [s for s in spans if s is not None]
    return min(found, key=lambda s: (s.earliest, s.latest)) if found else None


def _request_period(request: Resource) -> tuple[DateSpan | None, DateSpan | None]:
    starts: list[DateSpan | None] = [request.date("authoredOn")]
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


def _exposure(resource: Resource, found: DmtMatch) -> DmtExposure | None:
    status = resource.code("status")
    if status not in _CURRENT and status not in _PAST:
        return None
    current = status in _CURRENT
    if resource.type == "MedicationRequest":
        if resource.string("intent") == "proposal":
            return None
        start, end = _request_period(resource)
    else:
        start = resource.date("effectiveDateTime")
        period_start, end = resource.period("effectivePeriod")
        start = start or period_start
    ingredient, efficacy, matched_by = found
    return DmtExposure(
        ingredient=ingredient,
        efficacy=efficacy,
        matched_by=matched_by,
        start=start,
        end=None if current else end,
        current=current,
        stop_reason=None if current else _stop_reason(resource),
        sources=(resource.ref,),
    )


def _merge(items: list[DmtExposure]) -> DmtExposure:
    first = items[0]
    current = any(i.current for i in items)
    ends = [i.end for i in items if i.end is not None]
    reasons = {i.stop_reason for i in items if i.stop_reason is not None}
    reason = (
        StopReason.LACK_OF_EFFICACY
        if StopReason.LACK_OF_EFFICACY in reasons
        else (StopReason.OTHER if reasons else None)
    )
    return DmtExposure(
        ingredient=first.ingredient,
        efficacy=first.efficacy,
        matched_by=first.matched_by,
        start=_earliest(i.start for i in items),
        end=None if current or not ends else max(ends, key=lambda s: s.latest),
        current=current,
        stop_reason=reason,
        sources=tuple(dict.fromkeys(s for i in items for s in i.sources)),
    )


def dmt_exposures(medications: Iterable[Resource], config: MappingConfig) -> list[DmtExposure]:
    """One merged exposure per DMT ingredient the record shows was taken or prescribed
    (MedicationRequests and MedicationStatements; a proposal or a draft is neither)."""
    by_ingredient: dict[str, list[DmtExposure]] = {}
    seen: dict[Concept, _DmtHits] = {}
    for resource in medications:
        found = dmt_of(medication_concepts(resource), config, seen)
        exposure = _exposure(resource, found) if found is not None else None
        if exposure is not None:
            by_ingredient.setdefault(exposure.ingredient, []).append(exposure)
    return [items[0] if len(items) == 1 else _merge(items) for items in by_ingredient.values()]
