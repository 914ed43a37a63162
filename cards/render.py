"""Decision -> CDS card: uuid, source with topic, suggestions, links, explanation."""

from __future__ import annotations

import uuid
from typing import Any

from cards.content import OVERRIDE_SYSTEM, TOPIC_SYSTEM, content
from cards.decision import Decision
from cards.proposals import Proposal, to_suggestion
from cds_hooks import Action, Card, Coding, Link, Source, Suggestion

__all__ = [
    "EXPLANATION_KEY",
    "explanation",
    "new_uuid",
    "proposal_suggestions",
    "render_msc_warning",
    "source_for",
]

EXPLANATION_KEY = "ms-cds-explanation"


def new_uuid() -> str:
    return str(uuid.uuid4())


def source_for(topic: str) -> Source:
    text = content(topic)
    return Source(
        label=text["source_label"],
        url=text["source_url"],
        topic=Coding(system=TOPIC_SYSTEM, code=topic, display=text["display"]),
    )


def detail_for(topic: str, extra: list[str] | None = None) -> str:
    """The topic's markdown detail, any decision-specific lines, then the citations."""
    text = content(topic)
    lines: list[str] = list(text.get("detail", []))
    if extra:
        lines += ["", *extra]
    lines += ["", "**Evidence:** " + "; ".join(text["citations"])]
    return "\n".join(lines)


def explanation(decision: Decision) -> dict[str, Any]:
    return {
        EXPLANATION_KEY: {
            "rule": decision.topic,
            "facts": decision.explanation,
            "resources": list(dict.fromkeys(decision.sources)),
        }
    }


def override_reasons(topic: str) -> list[Coding] | None:
    reasons = content(topic).get("override_reasons") or []
    return [Coding(system=OVERRIDE_SYSTEM, **r) for r in reasons] or None


def links(topic: str) -> list[Link] | None:
    return [Link(**link) for link in content(topic).get("links", [])] or None


def proposal_suggestions(proposals: list[Proposal], label_key: str) -> list[Suggestion]:
    """The proposals as suggestions; one for no patient (a request without patientId
    reaching the engine directly) cannot be created, so it is left out."""
    references: dict[str, dict[str, Any]] = {}  # this card's: its proposals share them
    return [_suggestion(p, label_key, references) for p in proposals if p.patient_ref]


def _suggestion(
    proposal: Proposal, label_key: str, references: dict[str, dict[str, Any]]
) -> Suggestion:
    """A proposal as a suggestion, worded by its topic's content (`label_key`: which label)."""
    text = content(proposal.topic)
    name = proposal.ingredient or ""
    return to_suggestion(
        proposal,
        label=text[label_key].format(ingredient=name),
        description=text["action_description"].format(ingredient=name),
        text=text.get("resource_text", name),
        suggestion_id=new_uuid(),
        references=references,
    )


def render_msc_warning(decision: Decision) -> Card:
    text = content(decision.topic)
    assert decision.order_ref is not None  # noqa: S101 (the msc rule always sets it)
    alternatives = proposal_suggestions(
        decision.details.get("alternatives", []), "alternative_label"
    )
    remove = Suggestion(
        label=text["suggestion_label"],
        uuid=new_uuid(),
        isRecommended=True,
        actions=[
            Action(
                type="delete", description=text["action_description"], resourceId=decision.order_ref
            )
        ],
    )
    return Card(
        uuid=new_uuid(),
        summary=text["summary"],
        indicator="critical",
        detail=detail_for(decision.topic),
        source=source_for(decision.topic),
        suggestions=[remove, *alternatives],
        selectionBehavior="any",
        overrideReasons=override_reasons(decision.topic),
        links=links(decision.topic),
        extension=explanation(decision),
    )
