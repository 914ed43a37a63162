"""Observation -> laboratory state: anti-JCV antibody (result and index), HBV serology
(HBsAg, anti-HBc), AQP4-IgG and MOG-IgG positive (NMOSD / MOGAD mimics) and pregnancy
evidence (pregnancy status, hCG, pregnancy intention), in one pass.

Codes, answers and cut-offs are data with sources (valuesets/lab_results.json,
pregnancy.json). A result is read from a coded answer, the value's text, or the
interpretation (POS / NEG / IND; H or A count as positive); a number alone says nothing
except a JCV index (cut-offs <0.20 negative, 0.20-0.40 indeterminate, >0.40 positive).
The latest result of each test wins. A panel's components count like Observations of
their own, dated by the panel.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from fhir_mappings.conditions import PregnancyEvidence
from fhir_mappings.dates import add_months
from fhir_mappings.facts import (
    DateSpan,
    HbvStatus,
    JcvStatus,
    LabResult,
    Mimic,
    MimicKind,
    Pregnancy,
    PregnancyState,
)
from fhir_mappings.reader import Concept, Element, Resource
from fhir_mappings.textcap import matched_part
from fhir_mappings.valuesets import Code, extra, load

__all__ = [
    "LabCandidate",
    "LabFacts",
    "lab_test_of",
    "labs_of",
    "observed_on",
    "pregnancy_of",
    "result_of",
]

_DEAD = {"entered-in-error", "cancelled", "registered"}
_NEGATIVE = re.compile(r"\b(negative|neg|non-?reactive|not detected|undetected|absent)\b", re.I)
_INDETERMINATE = re.compile(r"\b(indeterminate|equivocal|borderline|inconclusive)\b", re.I)
_POSITIVE = re.compile(r"\b(positive|pos|reactive|detected|present)\b", re.I)
_INTERPRETATION = {
    "pos": LabResult.POSITIVE,
    "h": LabResult.POSITIVE,
    "hh": LabResult.POSITIVE,
    "a": LabResult.POSITIVE,
    "aa": LabResult.POSITIVE,
    "neg": LabResult.NEGATIVE,
    "n": LabResult.NEGATIVE,
    "ind": LabResult.INDETERMINATE,
}
_NOT_PREGNANT = re.compile(r"\bnot pregnant\b|\bnon-?pregnant\b", re.I)
_PREGNANT = re.compile(r"\bpregnant\b", re.I)
_MIMIC_TEST = {"aqp4": MimicKind.NMOSD, "mog": MimicKind.MOGAD}


def _text_result(text: str) -> LabResult | None:
    text = matched_part(text)
    for pattern, result in (
        (_NEGATIVE, LabResult.NEGATIVE),
        (_INDETERMINATE, LabResult.INDETERMINATE),
        (_POSITIVE, LabResult.POSITIVE),
    ):
        if pattern.search(text):
            return result
    return None


def _answer(concept: Concept) -> LabResult | None:
    answers = extra.answers("lab_results")
    for system, code in concept.codings:
        found = answers.get((system or "", code.strip()))
        if found is not None:
            return LabResult(found)
    for text in concept.texts:
        result = _text_result(text)
        if result is not None:
            return result
    return None


def result_of(element: Element) -> LabResult | None:
    """Positive / negative / indeterminate as the element (an Observation or component)
    states it: coded answer, value text, then interpretation."""
    if "valueCodeableConcept" in element:
        found = _answer(element.concept("valueCodeableConcept"))
        if found is not None:
            return found
    if "valueString" in element:
        text = element.string("valueString")
        found = _text_result(text) if text else None
        if found is not None:
            return found
    if "valueBoolean" in element:
        flag = element.boolean("valueBoolean")
        if flag is not None:
            return LabResult.POSITIVE if flag else LabResult.NEGATIVE
    if "interpretation" in element:
        for concept in element.concepts("interpretation", lone=True):
            for _, code in concept.codings:
                found = _INTERPRETATION.get(code.strip().lower())
                if found is not None:
                    return found
    return None


def _index_result(index: float) -> LabResult:
    cutoffs = extra.mapping("lab_results", "jcv_index_cutoffs")
    if index < cutoffs["negative_below"]:
        return LabResult.NEGATIVE
    if index > cutoffs["positive_above"]:
        return LabResult.POSITIVE
    return LabResult.INDETERMINATE


def observed_on(observation: Resource) -> DateSpan | None:
    """When an Observation was made: effective[x], else when it was issued."""
    return (
        observation.date("effectiveDateTime")
        or observation.period("effectivePeriod")[0]
        or observation.date("effectiveInstant")
        or observation.date("issued")
    )


@dataclass(frozen=True)
class _Reading:
    test: str  # a lab_results 'test' or a pregnancy 'role'
    matched_by: str
    part: Element
    on: DateSpan | None
    source: str


@dataclass(frozen=True)
class LabFacts:
    jcv: JcvStatus | None
    hbv: HbvStatus | None
    mimics: tuple[Mimic, ...]
    pregnancy: tuple[PregnancyEvidence, ...]


def _test_of(concept: Concept) -> tuple[str, str] | None:
    """(test or pregnancy role, matched_by) of an Observation code."""
    pregnancy = load("pregnancy")
    for system, code in concept.codings:
        found = pregnancy.lookup(system, code)
        if found is not None and found.attributes.get("role") not in (None, "answer", "condition"):
            return found.attributes["role"], f"{found.system}|{found.code}"
    labs = load("lab_results")
    match = labs.match_concept(concept)
    if match is None:
        return None
    if isinstance(match, Code):
        return match.attributes["test"], f"{match.system}|{match.code}"
    return match.attributes["test"], f"text /{match.regex.pattern}/"


# An Observation that names a test, and its parts (itself, components) with the test
# each names (observations.read_observations classifies every Observation once).
LabCandidate = tuple[Resource, list[tuple[Element, tuple[str, str]]]]


def lab_test_of(concept: Concept) -> tuple[str, str] | None:
    """(test or pregnancy role, matched_by) of an Observation or component code."""
    return _test_of(concept) if concept else None


def _readings(candidates: Iterable[LabCandidate]) -> list[_Reading]:
    out: list[_Reading] = []
    for observation, parts in candidates:
        if not parts or observation.code("status") in _DEAD:
            continue
        when = observed_on(observation)
        for part, (kind, matched_by) in parts:
            out.append(_Reading(kind, matched_by, part, when, observation.ref))
    return out


def _latest(readings: Sequence[tuple[_Reading, LabResult]]) -> tuple[_Reading, LabResult] | None:
    dated = [r for r in readings if r[0].on is not None]
    pool = dated or list(readings)
    if not pool:
        return None
    return max(
        pool, key=lambda r: (r[0].on.latest, r[0].on.earliest) if r[0].on else (date.min,) * 2
    )


def _jcv(readings: Sequence[_Reading]) -> JcvStatus | None:
    results = [(r, res) for r in readings if r.test == "jcv" and (res := result_of(r.part))]
    indexes: list[tuple[_Reading, float]] = []
    for r in readings:
        if r.test in ("jcv", "jcv-index") and "valueQuantity" in r.part:
            value = r.part.quantity("valueQuantity")
            if value is not None and value >= 0:
                indexes.append((r, value))
    from_index = [(r, _index_result(v)) for r, v in indexes if result_of(r.part) is None]
    latest = _latest([*results, *from_index])
    if latest is None:
        return None
    reading, result = latest
    # the index reported with this result: the same Observation (panel), else the same day
    same_day = [v for r, v in indexes if r.source == reading.source] or [
        v for r, v in indexes if r.on == reading.on
    ]
    return JcvStatus(
        result=result,
        index=same_day[-1] if same_day else None,
        on=reading.on,
        source=reading.source,
    )


def _hbv(readings: Sequence[_Reading]) -> HbvStatus | None:
    chosen: dict[str, tuple[_Reading, LabResult]] = {}
    for test in ("hbsag", "anti-hbc"):
        found = _latest(
            [(r, res) for r in readings if r.test == test and (res := result_of(r.part))]
        )
        if found is not None:
            chosen[test] = found
    if not chosen:
        return None
    dates = [r.on for r, _ in chosen.values() if r.on is not None]
    return HbvStatus(
        hbsag=chosen["hbsag"][1] if "hbsag" in chosen else None,
        anti_hbc=chosen["anti-hbc"][1] if "anti-hbc" in chosen else None,
        on=max(dates, key=lambda d: d.latest) if dates else None,
        sources=tuple(dict.fromkeys(r.source for r, _ in chosen.values())),
    )


def _antibody_mimics(readings: Sequence[_Reading]) -> list[Mimic]:
    out: list[Mimic] = []
    for test, kind in _MIMIC_TEST.items():
        found = _latest(
            [(r, res) for r in readings if r.test == test and (res := result_of(r.part))]
        )
        if found is not None and found[1] is LabResult.POSITIVE:
            reading = found[0]
            name = reading.matched_by.replace("http://loinc.org|", "LOINC|")
            out.append(
                Mimic(
                    kind=kind, on=reading.on, matched_by=f"{name} positive", source=reading.source
                )
            )
    return out


def _pregnancy_evidence(readings: Sequence[_Reading]) -> list[PregnancyEvidence]:
    pregnancy = load("pregnancy")
    out: list[PregnancyEvidence] = []
    for r in readings:
        state: PregnancyState | None = None
        if r.test in ("status", "intent"):
            concept = r.part.concept("valueCodeableConcept")
            for system, code in concept.codings:
                found = pregnancy.lookup(system, code)
                if found is not None and found.attributes.get("role") == "answer":
                    state = PregnancyState(found.attributes["state"])
                    break
            if state is None and r.test == "status":
                texts = [*concept.texts, matched_part(r.part.string("valueString") or "")]
                if any(_NOT_PREGNANT.search(t) for t in texts):
                    state = PregnancyState.NOT_PREGNANT
                elif any(_PREGNANT.search(t) for t in texts):
                    state = PregnancyState.PREGNANT
            if state is PregnancyState.PLANNED and r.test != "intent":
                state = None
        elif r.test in ("hcg", "hcg-quantitative"):
            result = result_of(r.part)
            if r.test == "hcg-quantitative" and "valueQuantity" in r.part:
                result = _interpretation_only(r.part)
            if result is LabResult.POSITIVE:
                state = PregnancyState.PREGNANT
            elif result is LabResult.NEGATIVE:
                state = PregnancyState.NOT_PREGNANT
        if state is not None:
            out.append(PregnancyEvidence(state, r.on, r.matched_by, r.source))
    return out


def _interpretation_only(part: Element) -> LabResult | None:
    """A quantitative hCG means something only through its interpretation (no threshold
    has a source)."""
    if "interpretation" not in part:
        return None
    for concept in part.concepts("interpretation", lone=True):
        for _, code in concept.codings:
            found = _INTERPRETATION.get(code.strip().lower())
            if found is not None:
                return found
    return None


def labs_of(candidates: Iterable[LabCandidate]) -> LabFacts:
    """The laboratory state of Observations already classified by the test they name."""
    readings = _readings(candidates)
    if not readings:
        return LabFacts(None, None, (), ())
    return LabFacts(
        jcv=_jcv(readings),
        hbv=_hbv(readings),
        mimics=tuple(_antibody_mimics(readings)),
        pregnancy=tuple(_pregnancy_evidence(readings)),
    )


_RANK = {PregnancyState.PREGNANT: 2, PregnancyState.PLANNED: 1, PregnancyState.NOT_PREGNANT: 0}


def pregnancy_of(evidence: Iterable[PregnancyEvidence], today: date) -> Pregnancy | None:
    """The most recent dated evidence (pregnant within window_months, planned within
    planned_window_months of today; not-pregnant at any date); undated evidence only when
    nothing is dated. On the same day pregnant beats planned beats not pregnant."""
    pregnant_from = add_months(today, -int(extra.number("pregnancy", "window_months")))
    planned_from = add_months(today, -int(extra.number("pregnancy", "planned_window_months")))
    usable: list[PregnancyEvidence] = []
    for item in evidence:
        start = {PregnancyState.PREGNANT: pregnant_from, PregnancyState.PLANNED: planned_from}
        limit = start.get(item.state)
        if item.on is not None and limit is not None and item.on.latest < limit:
            continue
        if item.on is not None and item.on.earliest > today:
            continue
        usable.append(item)
    dated = [e for e in usable if e.on is not None]
    pool = dated or usable
    if not pool:
        return None
    best = max(
        pool,
        key=lambda e: ((e.on.latest if e.on else date.min), _RANK[e.state]),
    )
    return Pregnancy(state=best.state, on=best.on, matched_by=best.matched_by, source=best.source)
