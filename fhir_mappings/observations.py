"""Observation -> EDSS scores and MRI lesion counts, each with its date, in one pass.

EDSS: SNOMED 273554001 (or the scale's name in text), read by edss.py (decimal
comma, valueString, coded scores, panel components); a value off the 0-10 scale
in 0.5 steps (0.5 itself does not exist) is ignored and noted. MRI lesion counts
have no standard code: local codes from MappingConfig, or text (valuesets/
mri_activity.json); the count may be written as a word ("two", "none"). A component
of a panel Observation counts like an Observation of its own, dated by its parent.
An Observation whose code names an MRI study and that holds text (valueString, note)
is handed back in `mri_texts`, for `imaging` to read like a report. Notes name
resources, never values.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from fhir_mappings.config import MappingConfig
from fhir_mappings.edss import edss_score, valid_edss
from fhir_mappings.facts import Edss, MriLesionCount, MriMeasure
from fhir_mappings.imaging import is_mri_study
from fhir_mappings.labs import LabCandidate, lab_test_of, observed_on
from fhir_mappings.mri_text import count_word
from fhir_mappings.reader import Concept, Element, Resource
from fhir_mappings.valuesets import Code, load, none_can_match

__all__ = ["ObservationFacts", "read_observations", "valid_edss"]

_DEAD = {"entered-in-error", "cancelled"}


@dataclass(frozen=True)
class ObservationFacts:
    edss: tuple[Edss, ...]
    mri_counts: tuple[MriLesionCount, ...]
    notes: tuple[str, ...]  # values ignored, by resource (never the value)
    mri_texts: tuple[Resource, ...] = ()  # MRI study Observations written as text
    labs: tuple[LabCandidate, ...] = ()  # Observations naming a laboratory test


def _number(element: Element) -> float | None:
    """valueQuantity.value, valueInteger, or a decimal in valueString."""
    value = element.quantity("valueQuantity") if "valueQuantity" in element else None
    if value is None and "valueInteger" in element:
        integer = element.integer("valueInteger")
        value = float(integer) if integer is not None else None
    if value is None and "valueString" in element:
        text = element.string("valueString")
        try:
            value = float(text.strip()) if text else None
        except ValueError:
            value = None
    return value


def _edss_of(concept: Concept) -> str | None:
    found = load("edss").match_concept(concept)
    if found is None:
        return None
    return f"{found.system}|{found.code}" if isinstance(found, Code) else "text"


def _mri_measure(concept: Concept, config: MappingConfig) -> tuple[MriMeasure, str] | None:
    if config.mri_gd_codes or config.mri_new_t2_codes:  # local codes only: none by default
        for system, code in concept.codings:
            key = f"{system}|{code}"
            if key in config.mri_gd_codes:
                return MriMeasure.GD_ENHANCING, key
            if key in config.mri_new_t2_codes:
                return MriMeasure.NEW_OR_ENLARGING_T2, key
    found = load("mri_activity").match_concept(concept)
    return (MriMeasure(found.attributes["measure"]), "text") if found is not None else None


# EDSS matched by, MRI measure, laboratory test, and whether it names an MRI study (read
# only for a code naming neither EDSS nor an MRI measure): what one code names, worked
# out once.
_Kind = tuple[str | None, tuple[MriMeasure, str] | None, tuple[str, str] | None, bool]


# Every set an Observation's code is read against here (EDSS, MRI measure, laboratory
# test and pregnancy test, MRI study): most codes name none of them.
_OBSERVATION_SETS = ("edss", "mri_activity", "lab_results", "pregnancy", "mri_studies")
_NO_KIND: _Kind = (None, None, None, False)


def read_observations(observations: Iterable[Resource], config: MappingConfig) -> ObservationFacts:
    """Valid EDSS scores and MRI lesion counts, notes on the values ignored, and the
    Observations naming a laboratory test (for labs.labs_of): each code matched once."""
    scores: list[Edss] = []
    counts: list[MriLesionCount] = []
    edss_notes: list[str] = []
    mri_notes: list[str] = []
    seen: dict[Concept, _Kind] = {}  # lab names repeat across a record: each matched once
    mri_texts: list[Resource] = []
    labs: list[LabCandidate] = []

    local_codes = bool(config.mri_gd_codes or config.mri_new_t2_codes)

    def kind(concept: Concept) -> _Kind:
        found = seen.get(concept)
        if found is None:
            if not local_codes and none_can_match(_OBSERVATION_SETS, concept):
                found = seen[concept] = _NO_KIND  # what each reader below would find
                return found
            edss = _edss_of(concept)
            mri = _mri_measure(concept, config)
            study = edss is None and mri is None and is_mri_study(concept)
            found = seen[concept] = (edss, mri, lab_test_of(concept), study)
        return found

    for observation in observations:
        concept = observation.concept("code")
        edss, mri, lab, study = kind(concept)
        components: list[tuple[Element, tuple[MriMeasure, str]]] = []
        edss_parts: list[Element] = [observation] if edss is not None else []
        lab_parts: list[tuple[Element, tuple[str, str]]] = [(observation, lab)] if lab else []
        for component in observation.children("component"):
            component_edss, found, component_lab, _ = kind(component.concept("code"))
            if found is not None:
                components.append((component, found))
            elif component_edss is not None:
                edss_parts.append(component)
            if component_lab is not None:
                lab_parts.append((component, component_lab))
        if lab_parts:
            labs.append((observation, lab_parts))
        if not edss_parts and mri is None and not components:
            if study and observation.code("status") not in _DEAD:
                mri_texts.append(observation)
            continue
        if observation.code("status") in _DEAD:
            continue
        ref = observation.ref
        when = observed_on(observation)
        for part in edss_parts:
            value = edss_score(part)
            if value is None:
                edss_notes.append(f"{ref}: EDSS without a numeric value, ignored")
            elif not valid_edss(value):
                edss_notes.append(f"{ref}: EDSS value not on the 0-10 scale in 0.5 steps, ignored")
            else:
                scores.append(Edss(score=value, on=when, source=ref))
        parts: list[tuple[Element, tuple[MriMeasure, str]]] = [(observation, mri)] if mri else []
        for part, (measure, matched_by) in [*parts, *components]:
            count = _number(part)
            if count is None and "valueString" in part:
                word = count_word(part.string("valueString"))
                count = float(word) if word is not None else None
            if count is None or count < 0 or not count.is_integer():
                mri_notes.append(f"{ref}: MRI lesion count is not a whole number, ignored")
                continue
            counts.append(
                MriLesionCount(
                    measure=measure, count=int(count), on=when, matched_by=matched_by, source=ref
                )
            )
    return ObservationFacts(
        tuple(scores), tuple(counts), (*edss_notes, *mri_notes), tuple(mri_texts), tuple(labs)
    )
