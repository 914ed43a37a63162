"""Condition -> MS diagnoses (course, activity), excluding CIS, RIS and inactive ones."""

from __future__ import annotations

from typing import Any

from fhir_mappings.coding import codings, concept_texts
from fhir_mappings.facts import Diagnosis, MsCourse
from fhir_mappings.resources import ResourcePool
from fhir_mappings.valuesets import Code, load

__all__ = ["classify_concept", "is_ms_concept", "ms_diagnoses", "ms_diagnosis_of"]

_INACTIVE_CLINICAL = {"inactive", "resolved"}
_EXCLUDED_VERIFICATION = {"refuted", "entered-in-error"}


def _status_code(concept: Any) -> str | None:
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
    for system, code, _ in codings(concept):
        if not_ms.lookup(system, code):
            return None
    for system, code, _ in codings(concept):
        found = ms.lookup(system, code)
        if isinstance(found, Code):
            attrs = found.attributes
            return (
                MsCourse(attrs.get("course", "unspecified")),
                attrs.get("activity"),
                f"{found.system}|{found.code}",
                bool(attrs.get("relapse")),
            )
    for text in concept_texts(concept):
        if not_ms.match_text(text):
            return None
    # Most specific text first: a course-naming pattern beats plain "multiple sclerosis".
    best: tuple[MsCourse, str | None, str, bool] | None = None
    for text in concept_texts(concept):
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
    if classify_concept(raw.get("code")) is None:
        return None  # cheap filter on the raw JSON before validating
    resource = pool.get(raw)
    data = resource.data
    found = classify_concept(data.get("code"))
    if found is None:
        return None
    if _status_code(data.get("clinicalStatus")) in _INACTIVE_CLINICAL:
        return None
    if _status_code(data.get("verificationStatus")) in _EXCLUDED_VERIFICATION:
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
