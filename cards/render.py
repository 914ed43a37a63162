"""Decision -> CDS card: uuid, source with topic, suggestions, links, explanation.

Every card with suggestions lets the clinician pick any of them (`selectionBehavior`
"any", the only value Epic supports), and each suggestion has one action. The
explanation extension sits under the site's reverse-domain key
(`<CDS_EXTENSION_DOMAIN>.explanation`) and holds no empty value (the wire model prunes
them: a rule may leave a list empty, the client never sees it).
"""

from __future__ import annotations

import uuid
from typing import Any

from cards.config import DEFAULT_EXTENSION_DOMAIN, RuleConfig
from cards.content import OVERRIDE_SYSTEM, TOPIC_SYSTEM, content
from cards.decision import Decision
from cards.proposals import Proposal, removal, to_suggestion
from cds_hooks import Action, Card, Coding, Link, Source, Suggestion

__all__ = [
    "DEFAULT_CONFIG",
    "EXPLANATION_KEY",
    "code_label",
    "detail_for",
    "explanation",
    "msc_card",
    "msc_diagnosis_lines",
    "new_uuid",
    "proposal_suggestions",
    "removal_suggestions",
    "render_dmt_order_check",
    "render_msc_warning",
    "source_for",
    "with_suggestions",
]

# The key under the default domain (a site sets its own: RuleConfig.explanation_key).
EXPLANATION_KEY = f"{DEFAULT_EXTENSION_DOMAIN}.explanation"
DEFAULT_CONFIG = RuleConfig()  # a site's comes from its settings; this is for tests
_REMOVE_LABEL = "Remove the draft order for {ordered}"
_REMOVE_DESCRIPTION = "Remove the draft order {ref}"


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
        lines += ["", *extra] if lines else list(extra)
    lines += ["", "**Evidence:** " + "; ".join(text["citations"])]
    return "\n".join(lines)


def explanation(decision: Decision, config: RuleConfig = DEFAULT_CONFIG) -> dict[str, Any]:
    return {
        config.explanation_key: {
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


def proposal_suggestions(
    proposals: list[Proposal], label_key: str, config: RuleConfig = DEFAULT_CONFIG
) -> list[Suggestion]:
    """The proposals as create suggestions; one for no patient (a request without
    patientId reaching the engine directly) cannot be created, so it is left out."""
    references: dict[str, dict[str, Any]] = {}  # this card's: its proposals share them
    return [_suggestion(p, label_key, references, config) for p in proposals if p.patient_ref]


def removal_suggestions(
    proposals: list[Proposal], topic: str, ordered: str | None = None
) -> list[Suggestion]:
    """One "remove the draft" suggestion per draft the proposals replace."""
    text = content(topic)
    drafts = dict.fromkeys(p.replaces for p in proposals if p.replaces and p.patient_ref)
    return [
        removal(
            ref,
            label=text.get("remove_label", _REMOVE_LABEL).format(ordered=ordered or "this drug"),
            description=_REMOVE_DESCRIPTION.format(ref=ref),
            suggestion_id=new_uuid(),
        )
        for ref in drafts
        if ref
    ]


def with_suggestions(suggestions: list[Suggestion]) -> dict[str, Any]:
    """Card fields for these suggestions: none, or them with selectionBehavior "any"."""
    if not suggestions:
        return {}
    return {"suggestions": suggestions, "selectionBehavior": "any"}


def _suggestion(
    proposal: Proposal,
    label_key: str,
    references: dict[str, dict[str, Any]],
    config: RuleConfig,
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
        orderables=config.orderables,
    )


_SYSTEM_NAMES = {
    "http://snomed.info/sct": "SNOMED CT",
    "http://hl7.org/fhir/sid/icd-10": "ICD-10",
    "http://hl7.org/fhir/sid/icd-10-cm": "ICD-10-CM",
    "http://www.nlm.nih.gov/research/umls/rxnorm": "RxNorm",
    "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets": "HCPCS",
}


def code_label(matched_by: str) -> str:
    """'http://snomed.info/sct|24700007' -> 'SNOMED CT 24700007'; a text match ('text
    /regex/', or 'instructions: text /regex/') -> 'its text' or 'the text of its
    instructions' (a clinician reads no regex: the explanation extension keeps it)."""
    where, text, _ = matched_by.partition("text /")
    if text and (not where or where.endswith(": ")):
        return f"the text of its {where[:-2]}" if where else "its text"
    system, bar, code = matched_by.rpartition("|")
    return f"{_SYSTEM_NAMES.get(system, system)} {code}" if bar and system else matched_by


def _msc_order_lines(decision: Decision) -> list[str]:
    """What triggered the card: the order (as recognised) and the MS evidence."""
    text = content(decision.topic)
    facts = decision.explanation
    product = facts.get("orderProduct")
    order = f"{product} ({decision.order_ref})" if product else str(decision.order_ref)
    matched = code_label(str(facts.get("orderMatchedBy") or "its text"))
    lines = [text["order_line"].format(order=order, matched=matched)]
    if facts.get("msEvidence") == "order reason is MS":
        lines.append(text["ms_reason_line"])
    return lines + msc_diagnosis_lines(decision)


def msc_diagnosis_lines(decision: Decision) -> list[str]:
    """The patient's MS diagnoses, one line each (an MSC card names them once)."""
    text = content(decision.topic)
    return [
        text["ms_diagnosis_line"].format(
            course=diagnosis["course"],
            source=diagnosis["source"],
            code=code_label(diagnosis["code"]),
        )
        for diagnosis in decision.details.get("diagnoses", [])
    ]


def msc_card(
    decision: Decision,
    summary: str,
    lines: list[str],
    removals: list[Suggestion],
    config: RuleConfig = DEFAULT_CONFIG,
) -> Card:
    """The critical mscWarning card: these detail lines, the removals, then the
    alternatives (one order or several)."""
    alternatives = proposal_suggestions(
        decision.details.get("alternatives", []), "alternative_label", config
    )
    return Card(
        uuid=new_uuid(),
        summary=summary,
        indicator="critical",
        detail=detail_for(decision.topic, lines),
        source=source_for(decision.topic),
        overrideReasons=override_reasons(decision.topic),
        links=links(decision.topic),
        extension=explanation(decision, config),
        **with_suggestions([*removals, *alternatives]),
    )


def render_msc_warning(decision: Decision, config: RuleConfig = DEFAULT_CONFIG) -> Card:
    text = content(decision.topic)
    assert decision.order_ref is not None  # noqa: S101 (the msc rule always sets it)
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
    return msc_card(decision, text["summary"], _msc_order_lines(decision), [remove], config)


def render_dmt_order_check(decision: Decision, config: RuleConfig = DEFAULT_CONFIG) -> Card:
    """The order-time check: the worst finding in the summary, every finding in the
    detail, and removing the draft as the one suggestion."""
    text = content(decision.topic)
    assert decision.order_ref is not None  # noqa: S101 (the rule always sets it)
    drug = str(decision.explanation["orderedDmt"]["ingredient"])
    summary = text["summaries"][decision.details["summary"]].format(drug=drug)
    remove = removal(
        decision.order_ref,
        label=text["suggestion_label"].format(drug=drug),
        description=text["action_description"].format(drug=drug),
        suggestion_id=new_uuid(),
    )
    return Card(
        uuid=new_uuid(),
        summary=summary[:1].upper() + summary[1:],
        indicator=decision.indicator,
        detail=detail_for(decision.topic, list(decision.details["lines"])),
        source=source_for(decision.topic),
        overrideReasons=override_reasons(decision.topic),
        extension=explanation(decision, config),
        **with_suggestions([remove]),
    )
