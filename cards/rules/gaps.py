"""dataGaps: the AHSCT decision is blocked only by missing data -> say what to record.

Fires when no AHSCT criterion is "not met" and at least one is "unknown"; lists
each unknown criterion's gap (e.g. "no EDSS in the last 12 months", "onset date
missing", "observations could not be retrieved").
"""

from __future__ import annotations

from cards.criteria import Status
from cards.decision import Decision, RuleInput
from cards.rules.ahsct import ahsct_criteria, criteria_sources

__all__ = ["TOPIC", "data_gaps"]

TOPIC = "dataGaps"


def data_gaps(rule_input: RuleInput) -> list[Decision]:
    facts = rule_input.facts
    if not facts.has_ms:
        return []
    criteria = ahsct_criteria(facts, rule_input.config, rule_input.today)
    if any(c.status is Status.NOT_MET for c in criteria):
        return []
    unknown = [c for c in criteria if c.status is Status.UNKNOWN]
    if not unknown:
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
            details={"criteria": criteria, "gaps": gaps},
        )
    ]
