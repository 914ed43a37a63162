"""MRI activity from where radiologists write it: DiagnosticReport text and MRI Observations.

A DiagnosticReport is read when its code names an MRI study (valuesets/mri_studies.json),
or its category is an imaging one (imaging_categories.json: US Core LOINC LP29684-5, HL7
v2 RAD / NMR) and its text names MRI. Its text is `conclusion`, the texts of
`conclusionCode`, then each `presentedForm` of type text/plain (base64 `data`; a `url`
is not fetched); an Observation's is `valueString`, then `note`. The text is read by
`mri_text` (medspaCy) up to a cap; what it finds becomes one MriLesionCount per measure
named (its count, the report's date, the report as source), a possible (uncertain)
mention an IgnoredValue. Entered-in-error, cancelled and registered (nothing yet
available) reports are not read; the same report twice is read once. Reports are read
newest first, up to RECORD_CAP_CHARS characters of text for the whole record; an older
report past that budget is not read, and a note says so.
"""

from __future__ import annotations

import base64
import binascii
import codecs
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date

from fhir_mappings.facts import DateSpan, IgnoredValue, MriLesionCount, MriMeasure
from fhir_mappings.mri_text import RECORD_CAP_CHARS, TEXT_CAP_CHARS, read_mri_text
from fhir_mappings.reader import Concept, Element, Resource
from fhir_mappings.valuesets import load

__all__ = ["ImagingFacts", "is_mri_study", "read_imaging"]

_NOT_READ = {"entered-in-error", "cancelled", "registered"}
# A base64 text longer than this is decoded only this far: the text past the cap is not
# read, so decoding it would cost for nothing (UTF-8: at most 4 bytes per character).
_MAX_BASE64_CHARS = -(-TEXT_CAP_CHARS * 4 // 3) * 4

_UNCERTAIN = {
    MriMeasure.GD_ENHANCING: "possible (uncertain) Gd-enhancing lesion in the report text: "
    "not counted as activity",
    MriMeasure.NEW_OR_ENLARGING_T2: "possible (uncertain) new or enlarging T2 lesion in the "
    "report text: not counted as activity",
}


@dataclass(frozen=True)
class ImagingFacts:
    counts: tuple[MriLesionCount, ...]
    ignored: tuple[IgnoredValue, ...]
    notes: tuple[str, ...]  # by resource, never its text


def is_mri_study(concept: Concept) -> bool:
    """The code names an MRI study (a listed LOINC code, or MRI words in its text)."""
    found = load("mri_studies").match_concept(concept)
    return found is not None and not found.attributes.get("report_text_only", False)


def _imaging_category(resource: Resource) -> bool:
    categories = load("imaging_categories")
    return any(
        categories.match_concept(c, use_text=False) is not None
        for c in resource.concepts("category", lone=True)
    )


def _when(resource: Resource) -> DateSpan | None:
    return (
        resource.date("effectiveDateTime")
        or resource.period("effectivePeriod")[0]
        or resource.date("issued")
    )


def _attachment_text(attachment: Element) -> str | None:
    """A text/plain attachment's base64 `data`, decoded up to the cap (charset honoured)."""
    media = attachment.string("contentType") or ""
    kind, _, params = media.partition(";")
    if kind.strip().lower() != "text/plain":
        return None
    data = attachment.string("data")
    if not data:
        return None
    charset = "utf-8"
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"')
    try:
        codecs.lookup(charset)
    except LookupError:
        charset = "utf-8"
    head = data[:_MAX_BASE64_CHARS]
    head = head[: len(head) - len(head) % 4]
    try:
        raw = base64.b64decode(head)
    except (binascii.Error, ValueError):
        return None
    return raw.decode(charset, errors="replace")


def _report_texts(report: Resource) -> Iterator[str]:
    conclusion = report.string("conclusion")
    if conclusion:
        yield conclusion
    for concept in report.concepts("conclusionCode"):
        yield from concept.texts
    for attachment in report.children("presentedForm"):
        text = _attachment_text(attachment)
        if text:
            yield text


def _observation_texts(observation: Resource) -> Iterator[str]:
    value = observation.string("valueString")
    if value:
        yield value
    for note in observation.children("note"):
        text = note.string("text")
        if text:
            yield text


def _mri_report(report: Resource, texts: list[str]) -> bool:
    if is_mri_study(report.concept("code")):
        return True
    if not _imaging_category(report):
        return False
    studies = load("mri_studies")
    return any(studies.match_text(text[:TEXT_CAP_CHARS]) is not None for text in texts)


def read_imaging(
    reports: Iterable[Resource], observations: Iterable[Resource] = ()
) -> ImagingFacts:
    """MRI lesion counts from MRI DiagnosticReports and from MRI Observations written as
    text (`observations`: those whose code names an MRI study, chosen by the caller)."""
    counts: list[MriLesionCount] = []
    ignored: list[IgnoredValue] = []
    notes: list[str] = []
    seen: set[str] = set()
    found: list[tuple[Resource, list[str], DateSpan | None]] = []
    for resource in (*reports, *observations):
        ref = resource.ref
        if resource.id is not None and ref in seen:
            continue
        if resource.code("status") in _NOT_READ:
            continue
        is_report = resource.type == "DiagnosticReport"
        texts = list(_report_texts(resource) if is_report else _observation_texts(resource))
        if not texts or (is_report and not _mri_report(resource, texts)):
            continue
        seen.add(ref)
        found.append((resource, texts, _when(resource)))
    found.sort(key=lambda item: item[2].latest if item[2] else date.min, reverse=True)
    budget = RECORD_CAP_CHARS
    for resource, texts, when in found:
        ref = resource.ref
        if budget <= 0:
            notes.append(f"{ref}: MRI report not read (newer reports used the text budget)")
            continue
        reading = read_mri_text(texts, budget)
        budget -= reading.read_chars
        if reading.truncated:
            notes.append(f"{ref}: MRI report text past {TEXT_CAP_CHARS} characters not read")
        where = f"{resource.type} text"
        for measure, (count, rule) in reading.counts.items():
            counts.append(
                MriLesionCount(
                    measure=measure,
                    count=count,
                    on=when,
                    matched_by=f"{where} /{rule}/",
                    source=ref,
                    report=ref,
                )
            )
        ignored.extend(
            IgnoredValue(what="mri", source=ref, reason=_UNCERTAIN[measure])
            for measure in reading.uncertain
        )
    return ImagingFacts(tuple(counts), tuple(ignored), tuple(notes))
