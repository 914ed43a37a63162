"""Relapses from every place they are recorded, counted once, with the high-dose
corticosteroid courses that support them.

Condition relapses (conditions.py) and relapse visits (encounters.py) within
`_SAME_RELAPSE_DAYS` of each other are one relapse (NICE: a relapse follows "a stable
period of at least 1 month"); the Condition is kept. A steroid course supports a
relapse when it is methylprednisolone at >= the daily dose in
valuesets/relapse_steroids.json (NICE: 0.5 g oral / 1 g IV daily) started within its
window of the onset; premedication (stated, or on the days of an alemtuzumab course or
an anti-CD20 infusion) never does. A steroid course alone is no relapse.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date, timedelta

from fhir_mappings.facts import DateSpan, DmtExposure, Relapse
from fhir_mappings.reader import Concept, Element, Resource
from fhir_mappings.textcap import matched_part
from fhir_mappings.valuesets import extra, load

__all__ = ["merge_relapses", "steroid_courses"]

_SAME_RELAPSE_DAYS = 30
_NOT_GIVEN = {"entered-in-error", "cancelled", "not-taken", "not-done", "draft", "unknown"}
_DOSE_TEXT = re.compile(r"(\d+(?:[.,]\d+)?)\s*(mg|g|gram|grams)\b", re.IGNORECASE)
_PREMEDICATED = {"alemtuzumab", "ocrelizumab", "ublituximab", "rituximab", "ofatumumab"}
_PREMED_DAYS = 5  # a Lemtrada course is 5 (then 3) consecutive days


def _mg(amount: float, unit: str | None) -> float | None:
    unit = (unit or "").strip().lower()
    if unit in {"mg", "milligram", "milligrams"}:
        return amount
    if unit in {"g", "gram", "grams"}:
        return amount * 1000
    return None


def _dose_mg(dosage: Element) -> float | None:
    """A Dosage's (or MedicationAdministration.dosage's) dose in mg a day, when stated."""
    dose = None
    quantity = dosage.child("dose") if "dose" in dosage else None
    if quantity is not None:
        value = quantity.number("value")
        unit = quantity.string("code") or quantity.string("unit")
        dose = _mg(value, unit) if value is not None else None
    for rate in dosage.children("doseAndRate") if "doseAndRate" in dosage else []:
        quantity = rate.child("doseQuantity") if "doseQuantity" in rate else None
        if quantity is not None and dose is None:
            value = quantity.number("value")
            unit = quantity.string("code") or quantity.string("unit")
            dose = _mg(value, unit) if value is not None else None
    if dose is None and "text" in dosage:
        dose = _text_dose(dosage.string("text"))
    if dose is not None:
        dose *= _per_day(dosage)
    return dose


def _per_day(dosage: Element) -> int:
    timing = dosage.child("timing") if "timing" in dosage else None
    repeat = timing.child("repeat") if timing is not None and "repeat" in timing else None
    if repeat is None:
        return 1
    frequency = repeat.integer("frequency") if "frequency" in repeat else None
    if frequency and repeat.code("periodUnit") == "d" and repeat.number("period") == 1:
        return frequency
    return 1


def _text_dose(text: str | None) -> float | None:
    match = _DOSE_TEXT.search(matched_part(text or ""))
    if match is None:
        return None
    return _mg(float(match.group(1).replace(",", ".")), match.group(2))


def _when(resource: Resource) -> DateSpan | None:
    return (
        resource.date("effectiveDateTime")
        or resource.period("effectivePeriod")[0]
        or resource.date("authoredOn")
        or resource.date("dateAsserted")
    )


def _is_methylprednisolone(resource: Resource, seen: dict[Concept, bool]) -> tuple[bool, list[str]]:
    """Whether the resource gives methylprednisolone, and the texts that name it.
    `seen`: the answers already worked out in this read, by concept."""
    concept = resource.concept("medicationCodeableConcept")
    if not concept and "medicationReference" in resource:
        target = resource.resolve(resource.reference("medicationReference"))
        concept = target.concept("code") if target is not None else concept
    named = seen.get(concept)
    if named is None:
        named = seen[concept] = load("relapse_steroids").match_concept(concept) is not None
    return named, list(concept.texts)


def steroid_courses(
    medications: Iterable[Resource], dmts: Sequence[DmtExposure]
) -> list[tuple[DateSpan, str]]:
    """High-dose methylprednisolone courses (date, 'Type/id'): MedicationRequest,
    MedicationStatement or MedicationAdministration, not premedication."""
    minimum = extra.number("relapse_steroids", "min_daily_mg")
    premed = re.compile(extra.text("relapse_steroids", "premedication_pattern"), re.IGNORECASE)
    infusion_days = _infusion_days(dmts)
    found: list[tuple[DateSpan, str]] = []
    seen: dict[Concept, bool] = {}  # this read only
    for resource in medications:
        named, texts = _is_methylprednisolone(resource, seen)
        if not named or resource.code("status") in _NOT_GIVEN:
            continue
        dosages = [
            *(resource.children("dosageInstruction") if "dosageInstruction" in resource else []),
            *(resource.children("dosage") if resource.type == "MedicationStatement" else []),
        ]
        if resource.type == "MedicationAdministration" and "dosage" in resource:
            single = resource.child("dosage")
            dosages += [single] if single is not None else []
        doses = [d for d in (_dose_mg(x) for x in dosages) if d is not None]
        if not doses:
            doses = [d for d in (_text_dose(t) for t in texts) if d is not None]
        said = [*texts, *(x.string("text") or "" for x in dosages if "text" in x)]
        reasons = (
            [t for c in resource.concepts("reasonCode") for t in c.texts]
            if ("reasonCode" in resource)
            else []
        )
        if (
            not doses
            or max(doses) < minimum
            or any(premed.search(matched_part(t)) for t in [*said, *reasons])
        ):
            continue
        when = _when(resource)
        if when is None or _on_infusion_day(when, infusion_days):
            continue
        found.append((when, resource.ref))
    return found


def _infusion_days(dmts: Sequence[DmtExposure]) -> list[DateSpan]:
    days: list[DateSpan] = []
    for dmt in dmts:
        if dmt.ingredient in _PREMEDICATED:
            days += [d for d in (dmt.start, dmt.last_dose) if d is not None]
    return days


def _on_infusion_day(when: DateSpan, infusions: Sequence[DateSpan]) -> bool:
    pad = timedelta(days=_PREMED_DAYS)
    return any(
        when.latest >= day.earliest - timedelta(days=1) and when.earliest <= day.latest + pad
        for day in infusions
    )


def _near(a: DateSpan | None, b: DateSpan | None, days: int) -> bool:
    if a is None or b is None:
        return False
    gap = timedelta(days=days)
    return a.latest >= b.earliest - gap and a.earliest <= b.latest + gap


def merge_relapses(
    conditions: Sequence[Relapse],
    visits: Sequence[Relapse],
    steroids: Sequence[tuple[DateSpan, str]],
) -> tuple[Relapse, ...]:
    """One Relapse per relapse: Condition relapses, then visits not within a month of
    one already counted; each with the steroid courses started in its window."""
    kept: list[Relapse] = list(conditions)
    for visit in sorted(visits, key=lambda r: _sort_key(r.on)):
        if not any(_near(visit.on, other.on, _SAME_RELAPSE_DAYS) for other in kept):
            kept.append(visit)
    window = timedelta(days=int(extra.number("relapse_steroids", "window_days")))
    out: list[Relapse] = []
    for relapse in kept:
        on = relapse.on
        supporting = (
            tuple(
                ref
                for when, ref in steroids
                if when.latest >= on.earliest and when.earliest <= on.latest + window
            )
            if on is not None
            else ()
        )
        out.append(
            relapse.model_copy(update={"steroid_sources": supporting}) if supporting else relapse
        )
    return tuple(out)


def _sort_key(on: DateSpan | None) -> date:
    return on.earliest if on is not None else date.max
