"""Observation -> EDSS scores and MRI lesion counts, each with its date.

EDSS: SNOMED 273554001 (or the scale's name in text); a value off the 0-10 scale
in 0.5 steps (0.5 itself does not exist) is ignored and noted. MRI lesion counts
have no standard code: local codes from MappingConfig, or text (valuesets/
mri_activity.json). A component of a panel Observation counts like an
Observation of its own, dated by its parent. Notes name resources, never values.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fhir_mappings.coding import concept_parts, first_str, match_concept
from fhir_mappings.config import MappingConfig
from fhir_mappings.dates import parse_span
from fhir_mappings.facts import DateSpan, Edss, MriLesionCount, MriMeasure
from fhir_mappings.resources import ResourcePool
from fhir_mappings.valuesets import Code, load

__all__ = ["edss_scores", "mri_lesion_counts", "valid_edss"]

_DEAD = {"entered-in-error", "cancelled"}


def valid_edss(score: float) -> bool:
    """On the EDSS scale: 0, 1.0, 1.5, ... 10.0 (there is no 0.5)."""
    return 0 <= score <= 10 and (score * 2).is_integer() and score != 0.5


def _number(element: dict[str, Any]) -> float | None:
    """valueQuantity.value, valueInteger, or a decimal in valueString."""
    quantity = element.get("valueQuantity")
    if isinstance(quantity, dict):
        value = quantity.get("value")
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    value = element.get("valueInteger")
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    text = first_str(element.get("valueString"))
    if text:
        try:
            return float(text.strip())
        except ValueError:
            return None
    return None


def _when(data: dict[str, Any]) -> DateSpan | None:
    period = data.get("effectivePeriod")
    return (
        parse_span(data.get("effectiveDateTime"))
        or (parse_span(period.get("start")) if isinstance(period, dict) else None)
        or parse_span(data.get("effectiveInstant"))
        or parse_span(data.get("issued"))
    )


def _live(data: dict[str, Any]) -> bool:
    status = first_str(data.get("status"))
    return not (status and status.lower() in _DEAD)


def _is_edss(concept: Any) -> str | None:
    found = match_concept(concept, load("edss"))
    if found is None:
        return None
    return f"{found.system}|{found.code}" if isinstance(found, Code) else "text"


def edss_scores(pool: ResourcePool) -> tuple[list[Edss], list[str]]:
    """Valid EDSS scores, and notes on the Observations whose value was ignored."""
    scores: list[Edss] = []
    notes: list[str] = []
    for raw in pool.record("Observation"):
        if _is_edss(raw.get("code")) is None:
            continue
        resource = pool.get(raw)
        data = resource.data
        if resource.repaired and _is_edss(data.get("code")) is None:
            continue  # repaired, and the repair removed what made it EDSS
        if not _live(data):
            continue
        value = _number(data)
        if value is None:
            notes.append(f"{resource.ref}: EDSS without a numeric value, ignored")
        elif not valid_edss(value):
            notes.append(f"{resource.ref}: EDSS value not on the 0-10 scale in 0.5 steps, ignored")
        else:
            scores.append(Edss(score=value, on=_when(data), source=resource.ref))
    return scores, notes


def _mri_measure(concept: Any, config: MappingConfig) -> tuple[MriMeasure, str] | None:
    found_codings, texts = concept_parts(concept)
    if config.mri_gd_codes or config.mri_new_t2_codes:  # local codes only: none by default
        for system, code, _ in found_codings:
            key = f"{system}|{code}"
            if key in config.mri_gd_codes:
                return MriMeasure.GD_ENHANCING, key
            if key in config.mri_new_t2_codes:
                return MriMeasure.NEW_OR_ENLARGING_T2, key
    mri = load("mri_activity")
    for text in texts:
        pattern = mri.match_text(text)
        if pattern is not None:
            return MriMeasure(pattern.attributes["measure"]), "text"
    return None


def _parts(data: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield data
    components = data.get("component")
    for component in components if isinstance(components, list) else []:
        if isinstance(component, dict):
            yield component


def _mentions_mri(raw: dict[str, Any], config: MappingConfig) -> bool:
    return any(_mri_measure(part.get("code"), config) for part in _parts(raw))


def mri_lesion_counts(
    pool: ResourcePool, config: MappingConfig
) -> tuple[list[MriLesionCount], list[str]]:
    """Gd-enhancing and new/enlarging T2 lesion counts, and notes on ignored values."""
    counts: list[MriLesionCount] = []
    notes: list[str] = []
    for raw in pool.record("Observation"):
        if not _mentions_mri(raw, config):
            continue
        resource = pool.get(raw)
        data = resource.data
        if not _live(data):
            continue
        when = _when(data)
        for part in _parts(data):
            found = _mri_measure(part.get("code"), config)
            if found is None:
                continue
            value = _number(part)
            if value is None or value < 0 or not value.is_integer():
                notes.append(f"{resource.ref}: MRI lesion count is not a whole number, ignored")
                continue
            measure, matched_by = found
            counts.append(
                MriLesionCount(
                    measure=measure,
                    count=int(value),
                    on=when,
                    matched_by=matched_by,
                    source=resource.ref,
                )
            )
    return counts, notes
