"""Exposure windows and courses: from the dose records of one DMT to one DmtExposure.

Per ingredient (valuesets/dmt_windows.json, each figure with its label source):
the patient counts as on the drug until the last dose (or the record's end) plus
the label's interval (`effective_until`; cladribine also 4 years from the first
course), and activity counts against the drug only from its start plus the
onset window (`effect_from`: no label gives one, so the site's failure delay).
Doses closer together than `course_gap_days` are one treatment course
(alemtuzumab, cladribine).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from importlib import resources
from typing import Any

from fhir_mappings.dates import add_months
from fhir_mappings.facts import DateSpan, DmtExposure, EfficacyClass, StopReason
from fhir_mappings.reasons import stop_reason_order

__all__ = ["DoseRecord", "Window", "merge_exposure", "window_of", "windows"]


@dataclass(frozen=True)
class Window:
    after_dose_months: int | None = None
    after_dose_weeks: int | None = None
    from_start_months: int | None = None
    onset_months: int | None = None
    course_gap_days: int | None = None
    source: str = ""

    def after_dose(self, day: date) -> date | None:
        if self.after_dose_months is not None:
            return add_months(day, self.after_dose_months)
        if self.after_dose_weeks is not None:
            return day + timedelta(weeks=self.after_dose_weeks)
        return None


def _duration(raw: Mapping[str, Any] | None, name: str) -> int | None:
    value = raw.get(name) if raw else None
    return int(value) if value is not None else None


@cache
def windows() -> dict[str, Window]:
    """The shipped windows by ingredient (read once: static package data)."""
    path = resources.files("fhir_mappings.valuesets").joinpath("dmt_windows.json")
    raw = json.loads(path.read_text(encoding="utf-8"))
    out: dict[str, Window] = {}
    for entry in raw["windows"]:
        if not entry.get("source"):
            raise ValueError(f"dmt_windows: {entry.get('ingredient')!r} names no source")
        out[entry["ingredient"]] = Window(
            after_dose_months=_duration(entry.get("after_dose"), "months"),
            after_dose_weeks=_duration(entry.get("after_dose"), "weeks"),
            from_start_months=_duration(entry.get("from_start"), "months"),
            onset_months=_duration(entry.get("onset"), "months"),
            course_gap_days=entry.get("course_gap_days"),
            source=entry["source"],
        )
    return out


def window_of(ingredient: str, overrides: Mapping[str, int]) -> Window | None:
    """The ingredient's window; `overrides` (site setting) replace the months after a dose."""
    found = windows().get(ingredient)
    months = overrides.get(ingredient)
    if months is None:
        return found
    base = found or Window(source="site setting")
    return Window(
        after_dose_months=months,
        from_start_months=base.from_start_months,
        onset_months=base.onset_months,
        course_gap_days=base.course_gap_days,
        source=f"site setting CDS_DMT_WINDOW_MONTHS ({months} months)",
    )


@dataclass(frozen=True)
class DoseRecord:
    """One record that counts as exposure, as read (before merging by ingredient)."""

    ingredient: str
    efficacy: EfficacyClass
    matched_by: str
    source: str
    active: bool  # the record says the drug is being taken/given now
    start: DateSpan | None = None
    end: DateSpan | None = None
    doses: tuple[DateSpan, ...] = ()  # days a dose is known to have been given
    stop_reasons: tuple[StopReason, ...] = ()
    products: tuple[str, ...] = ()


def _shift(span: DateSpan, move: Any) -> DateSpan:
    earliest, latest = move(span.earliest), move(span.latest)
    text = earliest.isoformat() if earliest == latest else f"{earliest} to {latest}"
    return DateSpan(earliest=earliest, latest=latest, text=text)


def _latest(spans: Iterable[DateSpan | None]) -> DateSpan | None:
    found = [s for s in spans if s is not None]
    return max(found, key=lambda s: (s.latest, s.earliest)) if found else None


def _earliest(spans: Iterable[DateSpan | None]) -> DateSpan | None:
    found = [s for s in spans if s is not None]
    return min(found, key=lambda s: (s.earliest, s.latest)) if found else None


def _courses(points: list[DateSpan], gap_days: int) -> int:
    days = sorted(p.earliest for p in points)
    if not days:
        return 0
    count, course_start = 1, days[0]
    for day in days[1:]:
        if (day - course_start).days > gap_days:
            count, course_start = count + 1, day
    return count


def merge_exposure(
    records: list[DoseRecord], today: date, overrides: Mapping[str, int], onset_months: int
) -> DmtExposure:
    """One exposure for the records of one ingredient: earliest start, latest dose and end,
    the label window from the last dose, current while a record is active or the window
    lasts (`today` within it), every stop reason found."""
    first = records[0]
    window = window_of(first.ingredient, overrides)
    active = any(r.active for r in records)
    doses = [d for r in records for d in r.doses]
    start = _earliest([*(r.start for r in records), *doses])
    last_dose = _latest(doses)
    end = None if active else _latest(r.end for r in records)
    effective_until: DateSpan | None = None
    effect_from: DateSpan | None = None
    courses: int | None = None
    if window is not None:
        reference = last_dose or end
        candidates: list[DateSpan | None] = []
        if reference is not None and window.after_dose(reference.earliest) is not None:
            candidates.append(_shift(reference, lambda d: window.after_dose(d) or d))
        if start is not None and window.from_start_months is not None:
            months = window.from_start_months
            candidates.append(_shift(start, lambda d: add_months(d, months)))
        effective_until = _latest(candidates)
        if start is not None:
            onset = window.onset_months if window.onset_months is not None else onset_months
            effect_from = _shift(start, lambda d: add_months(d, onset))
        if window.course_gap_days is not None:
            points = doses or [s for r in records if (s := r.start) is not None]
            courses = _courses(points, window.course_gap_days) or None
    current = active or (effective_until is not None and effective_until.latest >= today)
    reasons = stop_reason_order({s for r in records if not r.active for s in r.stop_reasons})
    return DmtExposure(
        ingredient=first.ingredient,
        efficacy=first.efficacy,
        matched_by=first.matched_by,
        start=start,
        end=end,
        current=current,
        stop_reason=reasons[0] if reasons else None,
        stop_reasons=reasons,
        sources=tuple(dict.fromkeys(r.source for r in records)),
        last_dose=last_dose,
        effective_until=effective_until,
        effect_from=effect_from,
        courses=courses,
        products=tuple(dict.fromkeys(p for r in records for p in r.products)),
    )
