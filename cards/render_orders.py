"""Order cards beyond the MSC warning's own rendering (cards.render): the warning for an
MSC order already in the record, which only a draft may be removed from; the card
asking which stem cell product an order means."""

from __future__ import annotations

from cards.config import RuleConfig
from cards.content import content
from cards.decision import Decision
from cards.render import (
    DEFAULT_CONFIG,
    detail_for,
    explanation,
    new_uuid,
    override_reasons,
    proposal_suggestions,
    render_msc_warning,
    source_for,
)
from cds_hooks import Card

__all__ = ["render_msc", "render_stem_cell_clarify"]


def render_msc(decision: Decision, config: RuleConfig = DEFAULT_CONFIG) -> Card:
    """The mscWarning card; without its delete suggestion when the order is no draft
    (`details["deletable"]`: an active order in the record is stopped, not deleted)."""
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
