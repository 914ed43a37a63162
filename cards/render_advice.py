"""Decision -> card for the advice topics: ahsctReferral, dmtEscalation, ppmsOcrelizumab,
dataGaps. Each detail shows what the card rests on (criteria or activity, with
values and dates); each card carries the explanation extension."""

from __future__ import annotations

from typing import Any

from cards.content import content
from cards.criteria import Criterion
from cards.decision import Decision
from cards.render import (
    detail_for,
    explanation,
    links,
    new_uuid,
    override_reasons,
    proposal_suggestions,
    source_for,
)
from cds_hooks import Card

__all__ = [
    "criterion_line",
    "render_ahsct_referral",
    "render_data_gaps",
    "render_dmt_escalation",
    "render_ppms_ocrelizumab",
]


def criterion_line(criterion: Criterion) -> str:
    """'- **Age under 45 years**: met: 38 years'; an unknown one says what is missing."""
    value = criterion.value or (criterion.gap if criterion.status == "unknown" else None)
    shown = f": {value}" if value else ""
    when = f" ({criterion.date})" if criterion.date else ""
    return f"- **{criterion.label}**: {criterion.status}{shown}{when}"


def _card(decision: Decision, summary_key: str, extra: list[str], **fields: Any) -> Card:
    text = content(decision.topic)
    # A rule may word the summary (from its content) and add lines (the safety gates' notes).
    extra = [*extra, *decision.details.get("notes", [])]
    return Card(
        uuid=new_uuid(),
        summary=decision.details.get("summary") or text.get(summary_key) or text["summary"],
        indicator=decision.indicator,
        detail=detail_for(decision.topic, extra),
        source=source_for(decision.topic),
        overrideReasons=override_reasons(decision.topic),
        links=links(decision.topic),
        extension=explanation(decision),
        **fields,
    )


def _suggestions(decision: Decision) -> dict[str, Any]:
    label = "suggestion_label_order" if decision.details.get("order") else "suggestion_label"
    suggestions = proposal_suggestions(decision.details.get("proposals", []), label)
    if not suggestions:
        return {}
    return {"suggestions": suggestions, "selectionBehavior": "at-most-one"}


def render_ahsct_referral(decision: Decision) -> Card:
    text = content(decision.topic)
    lines = [text["criteria_heading"], *map(criterion_line, decision.details["criteria"])]
    return _card(decision, "summary", lines, **_suggestions(decision))


def _activity_lines(decision: Decision) -> list[str]:
    events = decision.explanation.get("activity", {}).get("events", [])
    lines = [f"- {e['what']}" + (f" ({e['date']})" if e.get("date") else "") for e in events]
    current = decision.explanation.get("currentDmts", [])
    if current:
        lines.append("- current DMT: " + ", ".join(d["ingredient"] for d in current))
    elif decision.topic == "dmtEscalation":
        lines.append("- no current DMT recorded")
    return lines


def _render_with_order(decision: Decision, extra: list[str], ordered_note: str = "") -> Card:
    """A card that may be about a DMT being ordered: say which, and use the order summary."""
    ordered = decision.details.get("order")
    if ordered:
        ingredient = decision.explanation.get("orderedDmt", {}).get("ingredient")
        extra = [*extra, f"- being ordered: {ingredient}{ordered_note}"]
    summary_key = "summary_order" if ordered else "summary"
    return _card(decision, summary_key, extra, **_suggestions(decision))


def render_dmt_escalation(decision: Decision) -> Card:
    text = content(decision.topic)
    extra = [text["activity_heading"], *_activity_lines(decision)]
    return _render_with_order(decision, extra, " (platform DMT)")


def render_ppms_ocrelizumab(decision: Decision) -> Card:
    extra = [f"- course: {decision.explanation['course']}", *_activity_lines(decision)]
    return _render_with_order(decision, extra)


def render_data_gaps(decision: Decision) -> Card:
    text = content(decision.topic)
    lines = [text["gaps_heading"], *(f"- {gap}" for gap in decision.details["gaps"])]
    lines += ["", text["criteria_heading"], *map(criterion_line, decision.details["criteria"])]
    return _card(decision, "summary", lines)
