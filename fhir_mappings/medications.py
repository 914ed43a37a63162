"""MedicationRequest / MedicationStatement -> DMT exposures; what medication a resource names.

A DMT is recognised by RxNorm ingredient or brand code, ATC code, or an
ingredient/brand name in the text or coding displays (real orders often carry
product codes or only text). Codes win over text. All records of one
ingredient merge into one exposure.
"""

from __future__ import annotations

from typing import Any

from fhir_mappings.coding import concept_texts, first_str, match_concept, reference_of
from fhir_mappings.config import MappingConfig
from fhir_mappings.dates import parse_span
from fhir_mappings.facts import DateSpan, DmtExposure, EfficacyClass, StopReason
from fhir_mappings.resources import ResourcePool
from fhir_mappings.valuesets import Code, load

__all__ = ["DmtMatch", "dmt_exposures", "dmt_of", "medication_concepts", "resolve_reference"]

DmtMatch = tuple[str, EfficacyClass, str]  # ingredient, efficacy class, matched by

_REQUEST_CURRENT = {"active", "on-hold"}
_REQUEST_PAST = {"completed", "stopped"}
_STATEMENT_CURRENT = {"active", "on-hold"}
_STATEMENT_PAST = {"completed", "stopped"}


def _contained(resource: dict[str, Any], local_ref: str) -> dict[str, Any] | None:
    contained = resource.get("contained")
    if not isinstance(contained, list):
        return None
    wanted = local_ref.removeprefix("#")
    for item in contained:
        if isinstance(item, dict) and item.get("id") == wanted:
            return item
    return None


def resolve_reference(
    resource: dict[str, Any], reference: str | None, pool: ResourcePool
) -> dict[str, Any] | None:
    """A contained ('#id') or pooled ('Type/id') resource a reference points to."""
    if not reference:
        return None
    if reference.startswith("#"):
        return _contained(resource, reference)
    return pool.find(reference)


def medication_concepts(resource: dict[str, Any], pool: ResourcePool) -> list[Any]:
    """medicationCodeableConcept, or the referenced Medication's code and ingredients.

    Also reads R5's `medication` CodeableReference ({concept, reference}): EHRs
    mid-migration send it, and an MSC product named there must not be missed.
    """
    concepts = [resource.get("medicationCodeableConcept")]
    references = [reference_of(resource.get("medicationReference"))]
    r5_medication = resource.get("medication")
    if isinstance(r5_medication, dict):
        concepts.append(r5_medication.get("concept"))
        references.append(reference_of(r5_medication.get("reference")))
    for reference in references:
        concepts += _referenced_medication_concepts(resource, reference, pool)
    return concepts


def _referenced_medication_concepts(
    resource: dict[str, Any], reference: str | None, pool: ResourcePool
) -> list[Any]:
    concepts: list[Any] = []
    medication = resolve_reference(resource, reference, pool)
    if medication is not None:
        concepts.append(medication.get("code"))
        ingredients = medication.get("ingredient")
        if isinstance(ingredients, list):
            concepts += [i.get("itemCodeableConcept") for i in ingredients if isinstance(i, dict)]
    return concepts


def dmt_of(concepts: list[Any], config: MappingConfig) -> DmtMatch | None:
    """The DMT these concepts name, by code first, then by name in text."""
    dmt = load("dmt")
    hits = [match_concept(c, dmt, use_text=False) for c in concepts]
    hits += [match_concept(c, dmt) for c in concepts]
    for found in hits:
        if found is None:
            continue
        attrs = found.attributes
        efficacy = attrs["efficacy"]
        klass = config.s1p_class if efficacy == "s1p" else EfficacyClass(efficacy)
        how = f"{found.system}|{found.code}" if isinstance(found, Code) else "text"
        return str(attrs["ingredient"]), klass, how
    return None


def _stop_reason(value: Any) -> StopReason | None:
    concepts = value if isinstance(value, list) else [value]
    texts = [t for c in concepts for t in concept_texts(c)]
    if not texts:
        return None
    stop = load("dmt_stop_reasons")
    if any(stop.match_text(t) for t in texts):
        return StopReason.LACK_OF_EFFICACY
    return StopReason.OTHER


def _earliest(spans: list[DateSpan | None]) -> DateSpan | None:
    found = [s for s in spans if s is not None]
    return min(found, key=lambda s: (s.earliest, s.latest)) if found else None


def _period(value: Any, key: str) -> DateSpan | None:
    return parse_span(value.get(key)) if isinstance(value, dict) else None


def _request_period(data: dict[str, Any]) -> tuple[DateSpan | None, DateSpan | None]:
    starts: list[DateSpan | None] = [parse_span(data.get("authoredOn"))]
    ends: list[DateSpan | None] = []
    dosages = data.get("dosageInstruction")
    for dosage in dosages if isinstance(dosages, list) else []:
        timing = dosage.get("timing") if isinstance(dosage, dict) else None
        repeat = timing.get("repeat") if isinstance(timing, dict) else None
        bounds = repeat.get("boundsPeriod") if isinstance(repeat, dict) else None
        starts.append(_period(bounds, "start"))
        ends.append(_period(bounds, "end"))
    dispense = data.get("dispenseRequest")
    validity = dispense.get("validityPeriod") if isinstance(dispense, dict) else None
    starts.append(_period(validity, "start"))
    ends.append(_period(validity, "end"))
    found_ends = [e for e in ends if e is not None]
    end = max(found_ends, key=lambda s: s.latest) if found_ends else None
    return _earliest(starts), end


def _exposure(pool: ResourcePool, raw: dict[str, Any], config: MappingConfig) -> DmtExposure | None:
    found = dmt_of(medication_concepts(raw, pool), config)
    if found is None:
        return None  # cheap filter on the raw JSON before validating
    resource = pool.get(raw)
    data = resource.data
    if resource.repaired:  # repaired: read the repaired concepts again
        found = dmt_of(medication_concepts(data, pool), config)
    status = (first_str(data.get("status")) or "").lower()
    if found is None:
        return None
    if resource.resource_type == "MedicationRequest":
        if data.get("intent") == "proposal" or status not in _REQUEST_CURRENT | _REQUEST_PAST:
            return None
        current = status in _REQUEST_CURRENT
        start, end = _request_period(data)
    else:
        if status not in _STATEMENT_CURRENT | _STATEMENT_PAST:
            return None
        current = status in _STATEMENT_CURRENT
        start = parse_span(data.get("effectiveDateTime")) or _period(
            data.get("effectivePeriod"), "start"
        )
        end = _period(data.get("effectivePeriod"), "end")
    ingredient, efficacy, matched_by = found
    return DmtExposure(
        ingredient=ingredient,
        efficacy=efficacy,
        matched_by=matched_by,
        start=start,
        end=None if current else end,
        current=current,
        stop_reason=None if current else _stop_reason(data.get("statusReason")),
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
        start=_earliest([i.start for i in items]),
        end=None if current or not ends else max(ends, key=lambda s: s.latest),
        current=current,
        stop_reason=reason,
        sources=tuple(dict.fromkeys(s for i in items for s in i.sources)),
    )


def dmt_exposures(pool: ResourcePool, config: MappingConfig) -> list[DmtExposure]:
    """One merged exposure per DMT ingredient the record shows was taken or prescribed."""
    by_ingredient: dict[str, list[DmtExposure]] = {}
    for rtype in ("MedicationRequest", "MedicationStatement"):
        for raw in pool.record(rtype):
            exposure = _exposure(pool, raw, config)
            if exposure is not None:
                by_ingredient.setdefault(exposure.ingredient, []).append(exposure)
    return [_merge(items) for items in by_ingredient.values()]
