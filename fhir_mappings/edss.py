"""EDSS scores as EHRs record them, and which of them may serve as the baseline.

A score comes from valueQuantity, valueInteger, valueString ("4.5", "4,5" with a decimal
comma, "EDSS 4.5", "4.5/10") or valueCodeableConcept (a code or display holding the score:
"4.5", "SCORE4_5"); an Observation's component coded as EDSS counts like an Observation of
its own. A band ("<4", "less than 4") is no score. An EDSS measured within
`edss_relapse_days` of a relapse onset is not used when an out-of-relapse EDSS exists:
it is left out of the facts and listed as an IgnoredValue saying why.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import timedelta

from fhir_mappings.facts import DateSpan, Edss, IgnoredValue, Relapse
from fhir_mappings.reader import Element
from fhir_mappings.textcap import matched_part

__all__ = ["edss_score", "relapse_reason", "split_by_relapse", "valid_edss"]

_NUMBER = re.compile(r"\d+(?:[.,_]\d+)?")
_BAND = re.compile(r"[<>≤≥]|\bless than\b|\bmore than\b|\bgreater than\b|\bat least\b", re.I)
_OUT_OF_TEN = re.compile(r"\s*(?:/|out of)\s*10(?:[.,]0)?\b", re.I)


def valid_edss(score: float) -> bool:
    """On the EDSS scale: 0, 1.0, 1.5, ... 10.0 (there is no 0.5)."""
    return 0 <= score <= 10 and (score * 2).is_integer() and score != 0.5


def _from_text(text: str) -> float | None:
    """The one number a text holds (decimal comma or 'SCORE4_5' underscore read as a
    point), or None: none, several, or a band."""
    text = matched_part(text)
    if _BAND.search(text.replace("_", " ")):
        return None
    numbers = _NUMBER.findall(_OUT_OF_TEN.sub("", text))
    if len(numbers) != 1:
        return None
    return float(numbers[0].replace(",", ".").replace("_", "."))


def edss_score(element: Element) -> float | None:
    """The score an Observation (or a component) records, on any of the value[x] EHRs
    use; None when none can be read."""
    if "valueQuantity" in element:
        return element.quantity("valueQuantity")
    if "valueInteger" in element:
        integer = element.integer("valueInteger")
        return float(integer) if integer is not None else None
    if "valueString" in element:
        text = element.string("valueString")
        return _from_text(text) if text else None
    if "valueCodeableConcept" in element:
        concept = element.concept("valueCodeableConcept")
        for _, code in concept.codings:
            found = _from_text(code)
            if found is not None:
                return found
        for text in concept.texts:
            found = _from_text(text)
            if found is not None:
                return found
    return None


def relapse_reason(days: int) -> str:
    return (
        f"measured during a relapse (within {days} days of its onset); "
        "an out-of-relapse value exists"
    )


def _during(on: DateSpan | None, relapses: Sequence[Relapse], days: int) -> bool:
    """Possibly within `days` days after (or on) a relapse onset."""
    if on is None:
        return False
    for relapse in relapses:
        if relapse.on is None:
            continue
        start, end = relapse.on.earliest, relapse.on.latest + timedelta(days=days)
        if on.latest >= start and on.earliest <= end:
            return True
    return False


def split_by_relapse(
    scores: Iterable[Edss], relapses: Sequence[Relapse], days: int
) -> tuple[tuple[Edss, ...], tuple[IgnoredValue, ...]]:
    """The scores to use, and those ignored. Scores during a relapse are flagged; when an
    out-of-relapse score exists they are left out (ignored, with why)."""
    marked = [
        s.model_copy(update={"during_relapse": True}) if _during(s.on, relapses, days) else s
        for s in scores
    ]
    if all(s.during_relapse for s in marked):
        return tuple(marked), ()
    kept = tuple(s for s in marked if not s.during_relapse)
    ignored = tuple(
        IgnoredValue(what="edss", source=s.source, reason=relapse_reason(days))
        for s in marked
        if s.during_relapse
    )
    return kept, ignored
