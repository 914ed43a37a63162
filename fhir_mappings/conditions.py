"""Condition -> MS diagnoses (course, activity), disease onset and relapses.

CIS, RIS, refuted and entered-in-error Conditions are never MS; a diagnosis
counts only while active, but onset and relapses read inactive ones too (an old
RRMS Condition resolved when SPMS was recorded still dates the onset).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from fhir_mappings.coding import codings, concept_parts, concept_texts, match_concept
from fhir_mappings.dates import add_months, parse_span
from fhir_mappings.facts import (
    DateSpan,
    Diagnosis,
    DiseaseCourse,
    DiseaseOnset,
    MsCourse,
    OnsetBasis,
    Relapse,
)
from fhir_mappings.resources import ResourcePool
from fhir_mappings.valuesets import Code, load

__all__ = [
    "classify_concept",
    "disease_course",
    "disease_onset",
    "is_ms_concept",
    "ms_diagnoses",
    "ms_diagnosis_of",
    "relapses",
]

_INACTIVE_CLINICAL = {"inactive", "resolved"}
_EXCLUDED_VERIFICATION = {"refuted", "entered-in-error"}


def _status_code(concept: Any) -> str | None:
    """The status code of a CodeableConcept, or of STU3's plain string form."""
    if isinstance(concept, str):
        return concept.strip().lower() or None
    for _, code, _ in codings(concept):
        if code:
            return code.strip().lower()
    return None


def classify_concept(concept: Any) -> tuple[MsCourse, str | None, str, bool] | None:
    """(course, activity, matched_by, relapse) when the concept states MS, else None.

    A code wins over text; CIS and RIS (by code, or by text when MS is only named
    in text) are not MS.
    """
    ms, not_ms = load("ms_diagnosis"), load("not_ms")
    found_codings, texts = concept_parts(concept)
    for system, code, _ in found_codings:
        if not_ms.lookup(system, code):
            return None
    for system, code, _ in found_codings:
        found = ms.lookup(system, code)
        if isinstance(found, Code):
            attrs = found.attributes
            return (
                MsCourse(attrs.get("course", "unspecified")),
                attrs.get("activity"),
                f"{found.system}|{found.code}",
                bool(attrs.get("relapse")),
            )
    for text in texts:
        if not_ms.match_text(text):
            return None
    # Most specific text first: a course-naming pattern beats plain "multiple sclerosis".
    best: tuple[MsCourse, str | None, str, bool] | None = None
    for text in texts:
        if ms.any_pattern is not None and ms.any_pattern.search(text) is None:
            continue
        for pattern in ms.patterns:
            if pattern.regex.search(text):
                course = MsCourse(pattern.attributes.get("course", "unspecified"))
                if best is None or best[0] is MsCourse.UNSPECIFIED:
                    best = (course, None, "text", False)
    return best


def is_ms_concept(concept: Any) -> bool:
    return classify_concept(concept) is not None


def ms_diagnosis_of(pool: ResourcePool, raw: dict[str, Any]) -> Diagnosis | None:
    """The MS diagnosis one Condition states, if it is current."""
    found = classify_concept(raw.get("code"))
    if found is None:
        return None  # cheap filter on the raw JSON before validating
    resource = pool.get(raw)
    data = resource.data
    if resource.repaired:  # repaired: read the repaired concept again
        found = classify_concept(data.get("code"))
    if found is None:
        return None
    # Statuses from the raw JSON: repair drops STU3's plain-string form, and a
    # refuted or resolved diagnosis must never read as current MS.
    if _status_code(raw.get("clinicalStatus")) in _INACTIVE_CLINICAL:
        return None
    if _status_code(raw.get("verificationStatus")) in _EXCLUDED_VERIFICATION:
        return None
    course, activity, matched_by, relapse = found
    return Diagnosis(
        source=resource.ref,
        course=course,
        activity=activity,
        matched_by=matched_by,
        relapse=relapse,
    )


def ms_diagnoses(pool: ResourcePool) -> list[Diagnosis]:
    return [d for raw in pool.of_type("Condition") if (d := ms_diagnosis_of(pool, raw))]


# --- course, onset and relapses ------------------------------------------------

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


def _usable(raw: dict[str, Any]) -> bool:
    """Not refuted or entered-in-error (read from the raw JSON, as for diagnoses)."""
    return _status_code(raw.get("verificationStatus")) not in _EXCLUDED_VERIFICATION


def _onset_age_span(value: Any, birth: DateSpan | None) -> DateSpan | None:
    """onsetAge (an Age quantity in years or months) -> the span of onset days."""
    if birth is None or not isinstance(value, dict):
        return None
    amount = value.get("value")
    unit = str(value.get("code") or value.get("unit") or "a").lower()
    if not isinstance(amount, int | float) or isinstance(amount, bool) or amount < 0:
        return None
    if unit in {"a", "yr", "yrs", "year", "years"}:
        months, width = int(amount * 12), (12 if float(amount).is_integer() else 1)
    elif unit in {"mo", "month", "months"}:
        months, width = int(amount), 1
    else:
        return None
    earliest = add_months(birth.earliest, months)
    latest = add_months(birth.latest, months + width) - timedelta(days=1)
    return DateSpan(earliest=earliest, latest=latest, text=f"age {amount:g} {unit}")


def _onset_span(data: dict[str, Any], birth: DateSpan | None) -> DateSpan | None:
    span = parse_span(data.get("onsetDateTime"))
    period = data.get("onsetPeriod")
    if span is None and isinstance(period, dict):
        span = parse_span(period.get("start"))
    return span or _onset_age_span(data.get("onsetAge"), birth)


def disease_onset(pool: ResourcePool, birth: DateSpan | None) -> DiseaseOnset | None:
    """Earliest onset of any MS Condition (inactive ones too), else earliest recordedDate."""
    onsets: list[tuple[DateSpan, str]] = []
    recorded: list[tuple[DateSpan, str]] = []
    for raw in pool.of_type("Condition"):
        found = classify_concept(raw.get("code"))
        if found is None or found[3]:
            continue  # not MS, or a relapse record (its onset is the relapse's)
        resource = pool.get(raw)
        if resource.repaired and classify_concept(resource.data.get("code")) is None:
            continue
        if not _usable(raw):
            continue
        span = _onset_span(resource.data, birth)
        if span is not None:
            onsets.append((span, resource.ref))
        rec = parse_span(resource.data.get("recordedDate"))
        if rec is not None:
            recorded.append((rec, resource.ref))
    for candidates, basis in ((onsets, OnsetBasis.ONSET), (recorded, OnsetBasis.RECORDED_DATE)):
        if candidates:
            span, ref = min(candidates, key=lambda c: (c[0].earliest, c[0].latest))
            return DiseaseOnset(span=span, basis=basis, source=ref)
    return None


def _is_relapse(concept: Any) -> str | None:
    found = match_concept(concept, load("ms_relapse"), use_text=False)
    if isinstance(found, Code):
        return f"{found.system}|{found.code}"
    not_ms = load("not_ms")
    for text in concept_texts(concept):
        if not_ms.match_text(text):
            return None
    for text in concept_texts(concept):
        pattern = load("ms_relapse").match_text(text)
        if pattern is not None:
            return "text"
    return None


def relapses(pool: ResourcePool) -> list[Relapse]:
    """MS relapses recorded as Conditions (resolved ones included: they happened)."""
    found: list[Relapse] = []
    for raw in pool.of_type("Condition"):
        matched_by = _is_relapse(raw.get("code"))
        if matched_by is None:
            continue
        resource = pool.get(raw)
        if resource.repaired:  # repaired: read the repaired concept again
            matched_by = _is_relapse(resource.data.get("code"))
        if matched_by is None or not _usable(raw):
            continue
        when = _onset_span(resource.data, None) or parse_span(resource.data.get("recordedDate"))
        found.append(Relapse(on=when, matched_by=matched_by, source=resource.ref))
    return found
