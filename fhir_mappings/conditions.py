"""Condition -> MS diagnoses (course, activity), disease onset and relapses, in one pass.

CIS, RIS, refuted and entered-in-error Conditions are never MS; a diagnosis
counts only while active, but onset and relapses read inactive ones too (an old
RRMS Condition resolved when SPMS was recorded still dates the onset).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from fhir_mappings.dates import add_months
from fhir_mappings.facts import (
    DateSpan,
    Diagnosis,
    DiseaseCourse,
    DiseaseOnset,
    MsCourse,
    OnsetBasis,
    Relapse,
)
from fhir_mappings.reader import Concept, Element, Resource
from fhir_mappings.valuesets import Code, load

__all__ = ["ConditionFacts", "MsMatch", "classify_concept", "disease_course", "read_conditions"]

_INACTIVE_CLINICAL = {"inactive", "resolved"}
_EXCLUDED_VERIFICATION = {"refuted", "entered-in-error"}

MsMatch = tuple[MsCourse, str | None, str, bool]  # course, activity, matched by, relapse


def _names_not_ms(concept: Concept) -> bool:
    """Text naming CIS, RIS or another non-MS disease (a CIS or RIS named as the
    condition's past, "MS, initially CIS 2017", does not count: mimic_history)."""
    not_ms, history = load("not_ms"), load("mimic_history")
    for text in concept.texts:
        if not_ms.match_text(text) is None:
            continue
        for pattern in history.patterns:
            text = pattern.regex.sub(" ", text)
        if not_ms.match_text(text) is not None:
            return True
    return False


def classify_concept(concept: Concept, not_ms_text: bool | None = None) -> MsMatch | None:
    """(course, activity, matched_by, relapse) when the concept states MS, else None.

    A code wins over text; CIS and RIS (by code, or by text when MS is only named
    in text) are not MS. Of the texts, a course-naming pattern beats plain "multiple
    sclerosis". `not_ms_text`: `_names_not_ms(concept)`, when already known.
    """
    ms, not_ms = load("ms_diagnosis"), load("not_ms")
    for system, code in concept.codings:
        if not_ms.lookup(system, code):
            return None
    for system, code in concept.codings:
        found = ms.lookup(system, code)
        if found is not None:
            attrs = found.attributes
            return (
                MsCourse(attrs.get("course", "unspecified")),
                attrs.get("activity"),
                f"{found.system}|{found.code}",
                bool(attrs.get("relapse")),
            )
    if not concept.texts:
        return None
    if _names_not_ms(concept) if not_ms_text is None else not_ms_text:
        return None
    best: MsMatch | None = None
    for text in concept.texts:
        for pattern in ms.matches(text):
            course = MsCourse(pattern.attributes.get("course", "unspecified"))
            if best is None or best[0] is MsCourse.UNSPECIFIED:
                best = (course, None, "text", False)
    return best


def _relapse_of(concept: Concept, not_ms_text: bool) -> str | None:
    """How a concept states an MS relapse (a code, or text not naming a non-MS disease)."""
    relapse = load("ms_relapse")
    found = relapse.match_concept(concept, use_text=False)
    if isinstance(found, Code):
        return f"{found.system}|{found.code}"
    if not_ms_text:
        return None
    return "text" if any(relapse.matches(text) for text in concept.texts) else None


@dataclass(frozen=True)
class ConditionFacts:
    diagnoses: tuple[Diagnosis, ...]
    onset: DiseaseOnset | None
    relapses: tuple[Relapse, ...]


def read_conditions(conditions: Iterable[Resource], birth: DateSpan | None) -> ConditionFacts:
    """Current MS diagnoses, the disease onset (earliest onset of any usable MS Condition,
    else its earliest recordedDate) and relapses (resolved ones too: they happened)."""
    diagnoses: list[Diagnosis] = []
    relapses: list[Relapse] = []
    onsets: list[tuple[DateSpan, str]] = []
    recorded: list[tuple[DateSpan, str]] = []
    seen: dict[Concept, tuple[MsMatch | None, str | None]] = {}  # this read only
    for condition in conditions:
        concept = condition.concept("code")
        if not concept:
            continue
        known = seen.get(concept)
        if known is None:
            not_ms_text = _names_not_ms(concept)
            known = (classify_concept(concept, not_ms_text), _relapse_of(concept, not_ms_text))
            seen[concept] = known
        ms, relapse = known
        if ms is None and relapse is None:
            continue
        if condition.status("verificationStatus") in _EXCLUDED_VERIFICATION:
            continue
        if ms is not None:
            course, activity, matched_by, is_relapse = ms
            if condition.status("clinicalStatus") not in _INACTIVE_CLINICAL:
                diagnoses.append(
                    Diagnosis(
                        source=condition.ref,
                        course=course,
                        activity=activity,
                        matched_by=matched_by,
                        relapse=is_relapse,
                    )
                )
            if not is_relapse:  # a relapse record's onset is the relapse's, not the disease's
                span = _onset_span(condition, birth)
                if span is not None:
                    onsets.append((span, condition.ref))
                when = condition.date("recordedDate")
                if when is not None:
                    recorded.append((when, condition.ref))
        if relapse is not None:
            on = _onset_span(condition, None) or condition.date("recordedDate")
            relapses.append(Relapse(on=on, matched_by=relapse, source=condition.ref))
    return ConditionFacts(tuple(diagnoses), _earliest_onset(onsets, recorded), tuple(relapses))


def _earliest_onset(
    onsets: list[tuple[DateSpan, str]], recorded: list[tuple[DateSpan, str]]
) -> DiseaseOnset | None:
    for candidates, basis in ((onsets, OnsetBasis.ONSET), (recorded, OnsetBasis.RECORDED_DATE)):
        if candidates:
            span, ref = min(candidates, key=lambda c: (c[0].earliest, c[0].latest))
            return DiseaseOnset(span=span, basis=basis, source=ref)
    return None


def _onset_span(condition: Element, birth: DateSpan | None) -> DateSpan | None:
    return (
        condition.date("onsetDateTime")
        or condition.period("onsetPeriod")[0]
        or _onset_age_span(condition.child("onsetAge") if birth else None, birth)
    )


def _onset_age_span(age: Element | None, birth: DateSpan | None) -> DateSpan | None:
    """onsetAge (an Age quantity in years or months) -> the span of onset days."""
    if age is None or birth is None:
        return None
    amount = age.number("value")
    unit = age.string("code") or age.string("unit")
    if amount is None or amount < 0 or (unit is None and ("code" in age or "unit" in age)):
        return None  # no number, or a unit that cannot be read: no guess
    unit = (unit or "a").lower()
    if unit in {"a", "yr", "yrs", "year", "years"}:
        months, width = int(amount * 12), (12 if amount.is_integer() else 1)
    elif unit in {"mo", "month", "months"}:
        months, width = int(amount), 1
    else:
        return None
    earliest = add_months(birth.earliest, months)
    latest = add_months(birth.latest, months + width) - timedelta(days=1)
    return DateSpan(earliest=earliest, latest=latest, text=f"age {amount:g} {unit}")


_COURSE_RANK = (
    MsCourse.PRIMARY_PROGRESSIVE,
    MsCourse.SECONDARY_PROGRESSIVE,
    MsCourse.PROGRESSIVE_RELAPSING,
    MsCourse.PROGRESSIVE_UNSPECIFIED,
    MsCourse.RELAPSING_REMITTING,
    MsCourse.UNSPECIFIED,
)


def disease_course(diagnoses: Sequence[Diagnosis]) -> DiseaseCourse | None:
    """The most advanced course among current MS diagnoses (relapse records state none)."""
    if not diagnoses:
        return None
    staged = [d for d in diagnoses if not d.relapse] or list(diagnoses)
    recorded = {d.course for d in staged}
    course = next(c for c in _COURSE_RANK if c in recorded)
    chosen = [d for d in staged if d.course is course]
    activities = [d.activity for d in chosen if d.activity]
    activity = "active" if "active" in activities else (activities[0] if activities else None)
    return DiseaseCourse(
        course=course,
        activity=activity,
        sources=tuple(d.source for d in chosen),
        also_recorded=tuple(c for c in _COURSE_RANK if c in recorded and c is not course),
    )
