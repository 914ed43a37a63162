"""dataGaps: the AHSCT decision is blocked only by missing data -> say what to record.

Fires when no AHSCT criterion is "not met", at least one is "unknown", and the gap can
change a decision: disease activity or high-efficacy DMT failure is met or suspected
(a relapse or active MRI in, or possibly in, the window). A stable patient on a
high-efficacy DMT gets no "cannot be assessed" card; nor does one whom the safety
gates exclude from AHSCT (MS not confirmed, declined AHSCT, pregnancy). The summary
names what is missing; the detail lists each unknown criterion's gap (e.g. "no EDSS
in the last 12 months", "onset date missing", "observations could not be retrieved").
"""

from __future__ import annotations

from cards.content import content
from cards.criteria import Criterion, Status
from cards.decision import Decision, RuleInput
from cards.gates import advice_block
from cards.rules.activity import disease_activity
from cards.rules.ahsct import ahsct_gate, criteria_for, criteria_sources

__all__ = ["TOPIC", "data_gaps", "missing_summary"]

TOPIC = "dataGaps"
_SUMMARY_LIMIT = 139  # content summaries stay under 140 characters (Epic shows 140)


def missing_summary(unknown: list[Criterion]) -> str:
    """'AHSCT referral cannot be decided: missing recent EDSS, MS onset date' (< 140)."""
    text = content(TOPIC)
    names: dict[str, str] = text["missing_names"]
    missing = list(dict.fromkeys(names.get(c.id, c.id) for c in unknown))
    for shown in range(len(missing), 0, -1):
        rest = len(missing) - shown
        items = ", ".join(missing[:shown]) + (f" and {rest} more" if rest else "")
        summary: str = text["summary_missing"].format(missing=items)
        if len(summary) <= _SUMMARY_LIMIT:
            return summary
    fallback: str = text["summary"]
    return fallback


def _decision_at_stake(rule_input: RuleInput, criteria: list[Criterion]) -> bool:
    """Activity or high-efficacy failure met or suspected: the gap can change a decision."""
    facts, config, today = rule_input.facts, rule_input.config, rule_input.today
    failure = next((c for c in criteria if c.id == "heDmtFailure"), None)
    if failure is not None and failure.status is Status.MET:
        return True
    activity = disease_activity(facts, config, today)
    return bool(activity.events or activity.uncertain)


def data_gaps(rule_input: RuleInput) -> list[Decision]:
    facts, config, today = rule_input.facts, rule_input.config, rule_input.today
    if advice_block(facts) is not None:
        return []
    criteria = criteria_for(rule_input)
    if any(c.status is Status.NOT_MET for c in criteria):
        return []
    unknown = [c for c in criteria if c.status is Status.UNKNOWN]
    if not unknown or not _decision_at_stake(rule_input, criteria):
        return []
    if not ahsct_gate(facts, config, today).allowed:
        return []
    gaps = list(dict.fromkeys(c.gap for c in unknown if c.gap))
    return [
        Decision(
            topic=TOPIC,
            indicator="info",
            sources=criteria_sources(criteria),
            explanation={
                "decision": "AHSCT referral criteria",
                "criteria": [c.explain() for c in criteria],
                "gaps": gaps,
                "unavailable": list(facts.unavailable),
            },
            details={"criteria": criteria, "gaps": gaps, "summary": missing_summary(unknown)},
        )
    ]
