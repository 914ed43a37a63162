"""Decision -> card for the advice topics: ahsctReferral, dmtEscalation, ppmsOcrelizumab,
dataGaps. Each detail shows what the card rests on (criteria or activity, with
values and dates); each card carries the explanation extension.

A proposal that replaces the draft being ordered becomes two suggestions: create the
proposal, and (once per card) remove the draft.
"""

from __future__ import annotations

from typing import Any

from cards.config import RuleConfig
from cards.content import content
from cards.criteria import Criterion
from cards.decision import Decision
from cards.render import (
    DEFAULT_CONFIG,
    detail_for,
    explanation,
    links,
    new_uuid,
    override_reasons,
    proposal_suggestions,
    removal_suggestions,
    source_for,
    with_suggestions,
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


def _card(
    decision: Decision, config: RuleConfig, summary_key: str, extra: list[str], **fields: Any
) -> Card:
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
        extension=explanation(decision, config),
        **fields,
    )


def _suggestions(decision: Decision, config: RuleConfig) -> dict[str, Any]:
    proposals = decision.details.get("proposals", [])
    ordered = decision.explanation.get("orderedDmt", {}).get("ingredient")
    return with_suggestions(
        [
            *proposal_suggestions(proposals, "suggestion_label", config),
            *removal_suggestions(proposals, decision.topic, ordered),
        ]
    )


def render_ahsct_referral(decision: Decision, config: RuleConfig = DEFAULT_CONFIG) -> Card:
    text = content(decision.topic)
    lines = [text["criteria_heading"], *map(criterion_line, decision.details["criteria"])]
    return _card(decision, config, "summary", lines, **_suggestions(decision, config))


def _activity_lines(decision: Decision) -> list[str]:
    events = decision.explanation.get("activity", {}).get("events", [])
    lines = [f"- {e['what']}" + (f" ({e['date']})" if e.get("date") else "") for e in events]
    current = decision.explanation.get("currentDmts", [])
    if current:
        lines.append("- current DMT: " + ", ".join(d["ingredient"] for d in current))
    elif decision.topic == "dmtEscalation":
        lines.append("- no current DMT recorded")
    return lines


def _render_with_order(
    decision: Decision, config: RuleConfig, extra: list[str], ordered_note: str = ""
) -> Card:
    """A card that may be about a DMT being ordered: say which, and use the order summary."""
    ordered = decision.details.get("order")
    if ordered:
        ingredient = decision.explanation.get("orderedDmt", {}).get("ingredient")
        extra = [*extra, f"- being ordered: {ingredient}{ordered_note}"]
    summary_key = "summary_order" if ordered else "summary"
    return _card(decision, config, summary_key, extra, **_suggestions(decision, config))


def render_dmt_escalation(decision: Decision, config: RuleConfig = DEFAULT_CONFIG) -> Card:
    text = content(decision.topic)
    extra = [text["activity_heading"], *_activity_lines(decision)]
    return _render_with_order(decision, config, extra, " (platform DMT)")


def render_ppms_ocrelizumab(decision: Decision, config: RuleConfig = DEFAULT_CONFIG) -> Card:
    extra = [f"- course: {decision.explanation['course']}", *_activity_lines(decision)]
    return _render_with_order(decision, config, extra)


def render_data_gaps(decision: Decision, config: RuleConfig = DEFAULT_CONFIG) -> Card:
    text = content(decision.topic)
    lines = [text["gaps_heading"], *(f"- {gap}" for gap in decision.details["gaps"])]
    lines += ["", text["criteria_heading"], *map(criterion_line, decision.details["criteria"])]
    return _card(decision, config, "summary", lines)
