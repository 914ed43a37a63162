"""Facts -> rules -> cards for one hook call. Pure: no I/O beyond reading packaged data."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import date

from cards.config import RuleConfig
from cards.decision import RuleInput
from cards.registry import patient_record_needed, rules_for
from cds_hooks import Card
from fhir_mappings.build import PatientRecord, derive_facts
from fhir_mappings.config import MappingConfig
from fhir_mappings.facts import DraftOrder, PatientFacts

__all__ = ["Evaluation", "StageClock", "evaluate", "judged_orders"]

# Times one named stage ("mapping", "rules", "render"): the HTTP edge passes its
# metrics clock; cards itself knows no metrics library.
StageClock = Callable[[str], AbstractContextManager[object]]


def _untimed(stage: str) -> AbstractContextManager[object]:
    return nullcontext()


@dataclass(frozen=True)
class Evaluation:
    cards: list[Card]
    facts: PatientFacts
    orders: list[DraftOrder]
    # The patient facts derived from the record alone: what a facts cache keeps.
    patient_facts: PatientFacts | None = None


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
    stage: StageClock = _untimed,
    known_facts: PatientFacts | None = None,
) -> Evaluation:
    """`known_facts`: this exact record's patient facts from a cache (prefetch not re-read)."""
    with stage("mapping"):
        derived = derive_facts(
            record,
            today,
            mapping,
            known_facts,
            patient_needed=lambda drafts: patient_record_needed(
                hook, judged_orders(hook, drafts, selections)
            ),
        )
        facts, orders = derived.facts, derived.orders
    rule_input = RuleInput(
        hook=hook,
        facts=facts,
        config=config,
        today=today,
        orders=judged_orders(hook, orders, selections),
    )
    with stage("rules"):
        decided = []
        for rule in rules_for(hook):
            decisions = rule.evaluate(rule_input)
            if rule.one_per_response:
                decisions = decisions[:1]
            decided.append((rule, decisions))
    with stage("render"):
        cards: list[Card] = [rule.render(d) for rule, decisions in decided for d in decisions]
    return Evaluation(cards=cards, facts=facts, orders=orders, patient_facts=derived.patient)
