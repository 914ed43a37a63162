"""Disease activity and high-efficacy DMT failure: shared judgements, not card rules.

Disease activity = within the activity window (default 12 months) >= 1 relapse
or MRI activity (>= 1 Gd-enhancing or >= 1 new/enlarging T2 lesion on one MRI).
High-efficacy DMT failure (an operational definition, a setting): activity dated
after the DMT's onset of effect (its `effect_from`, the mapping's per-drug onset
window; without one, >= 6 months after its start), while on it (through its label
window, `effective_until`), within the window; or a high-efficacy DMT stopped for
lack of efficacy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from cards.config import RuleConfig
from cards.criteria import Criterion, Status, all_of, in_window, unavailable_gap, window_start
from fhir_mappings.dates import add_months
from fhir_mappings.facts import (
    DateSpan,
    DmtExposure,
    EfficacyClass,
    MriMeasure,
    PatientFacts,
    StopReason,
)

__all__ = ["Activity", "ActivityEvent", "disease_activity", "he_failure"]

_MEASURE_TEXT = {
    MriMeasure.GD_ENHANCING: "Gd-enhancing",
    MriMeasure.NEW_OR_ENLARGING_T2: "new/enlarging T2",
}


@dataclass(frozen=True)
class ActivityEvent:
    kind: str  # "relapse" or an MriMeasure value
    on: DateSpan | None
    source: str
    count: int | None = None

    def describe(self) -> str:
        if self.count is None:
            return "relapse"
        measure = _MEASURE_TEXT[MriMeasure(self.kind)]
        return f"{self.count} {measure} lesion{'s' if self.count != 1 else ''}"

    @property
    def date(self) -> str | None:
        return self.on.text if self.on else None


@dataclass(frozen=True)
class Activity:
    """`events` are certainly in the window; `uncertain` may be (partial or no date)."""

    status: Status
    events: tuple[ActivityEvent, ...]
    uncertain: tuple[ActivityEvent, ...]
    mri_known: bool
    gap: str | None = None

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(e.source for e in self.events))

    def explain(self) -> dict[str, object]:
        return {
            "status": str(self.status),
            "events": [
                {"what": e.describe(), "date": e.date, "source": e.source} for e in self.events
            ],
        }


def _events(facts: PatientFacts, config: RuleConfig) -> list[ActivityEvent]:
    events = [ActivityEvent("relapse", r.on, r.source) for r in facts.relapses]
    minimum = {
        MriMeasure.GD_ENHANCING: config.activity_min_gd_lesions,
        MriMeasure.NEW_OR_ENLARGING_T2: config.activity_min_new_t2_lesions,
    }
    events += [
        ActivityEvent(str(m.measure), m.on, m.source, m.count)
        for m in facts.mri_counts
        if m.count >= minimum[m.measure]
    ]
    return events


def disease_activity(facts: PatientFacts, config: RuleConfig, today: date) -> Activity:
    start = window_start(today, config.activity_window_months)
    certain: list[ActivityEvent] = []
    uncertain: list[ActivityEvent] = []
    for event in _events(facts, config):
        inside = in_window(event.on, start, today)
        if inside is True:
            certain.append(event)
        elif inside is None:
            uncertain.append(event)
    mri_known = any(in_window(m.on, start, today) is True for m in facts.mri_counts)
    window = f"the last {config.activity_window_months} months"
    gap = unavailable_gap(facts, "conditions", "observations")
    if not mri_known and gap is None:
        gap = f"no MRI lesion counts (Gd-enhancing, new/enlarging T2) in {window}"
    if uncertain and gap is None:
        gap = f"record full dates for relapses and MRI scans near the start of {window}"
    if certain:
        status = Status.MET
    elif gap is not None:
        status = Status.UNKNOWN
    else:
        status = Status.NOT_MET
    return Activity(status, tuple(certain), tuple(uncertain), mri_known, gap)


def _after_start(dmt: DmtExposure, event: ActivityEvent, months: int) -> bool | None:
    if dmt.start is None or event.on is None:
        return None
    if dmt.effect_from is not None:  # the drug's own onset of effect
        onset_earliest, onset_latest = dmt.effect_from.earliest, dmt.effect_from.latest
    else:
        onset_earliest = add_months(dmt.start.earliest, months)
        onset_latest = add_months(dmt.start.latest, months)
    if event.on.earliest >= onset_latest:
        return True
    if event.on.latest < onset_earliest:
        return False
    return None


def _while_on(dmt: DmtExposure, event: ActivityEvent) -> bool | None:
    if dmt.current:
        return True
    ends = [d for d in (dmt.end, dmt.effective_until) if d is not None]
    if not ends:
        return True
    until = max(d.latest for d in ends)  # a course therapy acts long after its last dose
    if event.on is None:
        return None
    if event.on.latest <= until:
        return True
    return False if event.on.earliest > until else None


def he_failure(facts: PatientFacts, config: RuleConfig, today: date) -> Criterion:
    months, window = config.he_failure_min_months, config.activity_window_months
    base = {
        "id": "heDmtFailure",
        "label": f"Failure of a high-efficacy DMT (activity >= {months} months after its "
        f"start, in the last {window} months)",
    }
    he = [d for d in facts.dmts if d.efficacy is EfficacyClass.HIGH]
    meds_gap = unavailable_gap(facts, "medicationRequests", "medicationStatements")
    if not he:
        if meds_gap:
            return Criterion(**base, status=Status.UNKNOWN, gap=meds_gap)
        return Criterion(**base, status=Status.NOT_MET, value="no high-efficacy DMT recorded")
    for dmt in he:
        if dmt.stop_reason is StopReason.LACK_OF_EFFICACY:
            return Criterion(
                **base,
                status=Status.MET,
                value=f"{dmt.ingredient} stopped for lack of efficacy",
                date=dmt.end.text if dmt.end else None,
                sources=dmt.sources,
            )
    activity = disease_activity(facts, config, today)
    start = window_start(today, window)
    undecided: list[str] = []
    for dmt in he:
        if dmt.start is None and (activity.events or activity.uncertain):
            undecided.append(f"record when {dmt.ingredient} was started")
        for event in (*activity.events, *activity.uncertain):
            verdict = all_of(
                [
                    in_window(event.on, start, today),
                    _after_start(dmt, event, months),
                    _while_on(dmt, event),
                ]
            )
            if verdict is True:
                assert dmt.start is not None  # noqa: S101 (_after_start needs it)
                return Criterion(
                    **base,
                    status=Status.MET,
                    value=f"{event.describe()} on {dmt.ingredient}, started {dmt.start.text}",
                    date=event.date,
                    sources=(*dmt.sources, event.source),
                )
            if verdict is None:
                undecided.append(activity.gap or "record full dates of relapses and MRI scans")
    if not undecided and activity.gap:
        undecided.append(activity.gap)
    if undecided:
        return Criterion(
            **base,
            status=Status.UNKNOWN,
            value="on " + ", ".join(d.ingredient for d in he),
            sources=tuple(s for d in he for s in d.sources),
            gap="; ".join(dict.fromkeys(undecided)),
        )
    return Criterion(
        **base,
        status=Status.NOT_MET,
        value=f"no activity >= {months} months after starting "
        + ", ".join(d.ingredient for d in he),
        sources=tuple(s for d in he for s in d.sources),
    )
