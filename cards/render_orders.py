"""Order cards beyond the one-order MSC warning's rendering (cards.render): the MSC
warning for several orders (one card naming each, with one removal per draft) or for an
order already in the record, which only a draft may be removed from; the card asking
which stem cell product an order means."""

from __future__ import annotations

from typing import Any

from cards.config import RuleConfig
from cards.content import content
from cards.decision import Decision
from cards.render import (
    DEFAULT_CONFIG,
    code_label,
    detail_for,
    explanation,
    msc_card,
    msc_diagnosis_lines,
    new_uuid,
    override_reasons,
    proposal_suggestions,
    render_msc_warning,
    source_for,
)
from cds_hooks import Action, Card, Suggestion

__all__ = ["render_msc", "render_msc_several", "render_stem_cell_clarify"]


def render_msc(decision: Decision, config: RuleConfig = DEFAULT_CONFIG) -> Card:
    """The mscWarning card. One order: the one-order card, without its delete suggestion
    when the order is no draft (`details["deletable"]`: an active order in the record is
    stopped, not deleted). Several: `render_msc_several`."""
    if len(decision.details.get("orders", ())) > 1:
        return render_msc_several(decision, config)
    card = render_msc_warning(decision, config)
    if decision.details.get("deletable", True):
        return card
    kept = [
        s for s in card.suggestions or () if not any(a.type == "delete" for a in s.actions or ())
    ]
    return card.model_copy(
        update={"suggestions": kept or None, "selectionBehavior": "any" if kept else None}
    )


def render_stem_cell_clarify(decision: Decision, config: RuleConfig = DEFAULT_CONFIG) -> Card:
    """A warning asking which product the order means; the AHSCT referral beside it when
    every criterion is met (no delete: the order may be legitimate once clarified)."""
    suggestions = proposal_suggestions(
        decision.details.get("alternatives", []), "alternative_label", config
    )
    return Card(
        uuid=new_uuid(),
        summary=content(decision.topic)["summary"],
        indicator="warning",
        detail=detail_for(decision.topic),
        source=source_for(decision.topic),
        suggestions=suggestions or None,
        selectionBehavior="any" if suggestions else None,
        overrideReasons=override_reasons(decision.topic),
        extension=explanation(decision, config),
    )


def _named(order: dict[str, Any]) -> str:
    """An order as the clinician reads it: its product (as recognised) and its reference."""
    return f"{order['product']} ({order['ref']})" if order.get("product") else str(order["ref"])


def _several_lines(decision: Decision) -> list[str]:
    """Each order (as recognised, with its MS evidence and, in the record, its status),
    then the patient's MS diagnoses once."""
    text = content(decision.topic)
    orders: list[dict[str, Any]] = decision.details["orders"]
    count = decision.details.get("order_count", len(orders))
    lines: list[str] = []
    for number, order in enumerate(orders, start=1):
        matched = code_label(str(order.get("matched") or "its text"))
        lines.append(
            text["order_line_several"].format(
                number=number, count=count, order=_named(order), matched=matched
            )
        )
        if order["ms_reason"]:
            lines.append(text["ms_reason_line_several"])
        if order.get("status"):
            key = "status_line_several" if order["deletable"] else "not_deletable_line_several"
            lines.append(text[key].format(status=order["status"]))
    if count > len(orders):
        lines.append(text["not_listed_line"].format(count=count - len(orders)))
    return lines + msc_diagnosis_lines(decision)


def _removals(decision: Decision) -> list[Suggestion]:
    """One "remove" suggestion per draft order (one action each), in the card's order."""
    text = content(decision.topic)
    drafts = {o["ref"]: o for o in decision.details["orders"] if o["deletable"]}
    return [
        Suggestion(
            label=text["suggestion_label_several"].format(order=_named(order)),
            uuid=new_uuid(),
            isRecommended=True,
            actions=[
                Action(
                    type="delete",
                    description=text["action_description_several"].format(ref=ref),
                    resourceId=ref,
                )
            ],
        )
        for ref, order in drafts.items()
    ]


def render_msc_several(decision: Decision, config: RuleConfig = DEFAULT_CONFIG) -> Card:
    """One critical card for several MSC orders: the count in the summary, each order in
    the detail, a removal per draft, then the alternatives once."""
    count = decision.details.get("order_count", len(decision.details["orders"]))
    summary = content(decision.topic)["summary_several"].format(count=count)
    return msc_card(decision, summary, _several_lines(decision), _removals(decision), config)
