"""Facts -> rules -> cards for one hook call. Pure: no I/O beyond reading packaged data."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from cards.config import RuleConfig
from cards.decision import RuleInput
from cards.model import Card
from cards.registry import rules_for
from fhir_mappings.build import PatientRecord, build_facts
from fhir_mappings.config import MappingConfig
from fhir_mappings.facts import DraftOrder, PatientFacts

__all__ = ["Evaluation", "evaluate", "judged_orders"]


@dataclass(frozen=True)
class Evaluation:
    cards: list[Card]
    facts: PatientFacts
    orders: list[DraftOrder]


def judged_orders(
    hook: str, orders: list[DraftOrder], selections: Sequence[str] | None
) -> tuple[DraftOrder, ...]:
    """order-select judges only the selections (other drafts are context); order-sign all."""
    if hook == "order-select":
        wanted = {s.strip() for s in selections or ()}
        return tuple(o for o in orders if o.ref in wanted)
    if hook == "order-sign":
        return tuple(orders)
    return ()


def evaluate(
    hook: str,
    record: PatientRecord,
    config: RuleConfig,
    today: date,
    selections: Sequence[str] | None = None,
    mapping: MappingConfig | None = None,
) -> Evaluation:
    facts, orders, _ = build_facts(record, today, mapping)
    rule_input = RuleInput(
        hook=hook,
        facts=facts,
        config=config,
        today=today,
        orders=judged_orders(hook, orders, selections),
    )
    cards: list[Card] = []
    for rule in rules_for(hook):
        decisions = rule.evaluate(rule_input)
        if rule.one_per_response:
            decisions = decisions[:1]
        cards.extend(rule.render(d) for d in decisions)
    return Evaluation(cards=cards, facts=facts, orders=orders)
