"""Facts -> rules -> cards for one hook call. Pure: no I/O beyond reading packaged data.

Two steps, so that an edge can fetch only what the call needs:

1. `judge(hook, record, selections)` reads the draft orders alone and works out the
   orders this hook judges, whether any rule can use the patient's record for them
   (`needs_record`), and the references the drafts make that the request does not hold
   (`unresolved`, e.g. `Medication/x`: an edge may fetch them with the record and judge
   again, as an order that names its product only there is read as "other" without it).
2. `conclude(judgement, record, config, today)` reads the record when it is needed
   (the drafts are not read again), runs the rules (`decide`: none for a deceased
   patient) and renders the cards.

`evaluate` does both for a request that holds everything it will get.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import date

from cards.config import RuleConfig
from cards.decision import Decision, RuleInput
from cards.registry import Rule, patient_record_needed, rules_for
from cds_hooks import Card
from fhir_mappings.build import PatientRecord, read_drafts, read_patient, unread_record
from fhir_mappings.config import MappingConfig
from fhir_mappings.facts import DraftOrder, ParseNote, PatientFacts

__all__ = ["Evaluation", "Judgement", "StageClock", "conclude", "decide", "evaluate", "judge"]

# Times one named stage ("mapping", "rules", "render"): the HTTP edge passes its
# metrics clock; cards itself knows no metrics library.
StageClock = Callable[[str], AbstractContextManager[object]]


def _untimed(stage: str) -> AbstractContextManager[object]:
    return nullcontext()


@dataclass(frozen=True)
class Judgement:
    """Step 1: the draft orders read, and what step 2 needs.

    `orders`: every draft order; `judged`: those the rules judge at this hook
    (order-select: the selections; order-sign: all; patient-view: none).
    """

    hook: str
    orders: tuple[DraftOrder, ...]
    judged: tuple[DraftOrder, ...]
    needs_record: bool
    unresolved: tuple[str, ...]
    notes: tuple[ParseNote, ...]


@dataclass(frozen=True)
class Evaluation:
    cards: list[Card]
    facts: PatientFacts  # the record's facts (or only what the request says), plus all notes
    judgement: Judgement


def _judged(
    hook: str, orders: tuple[DraftOrder, ...], selections: Sequence[str] | None
) -> tuple[DraftOrder, ...]:
    if hook == "order-select":
        wanted = {s.strip() for s in selections or () if isinstance(s, str)}
        return tuple(o for o in orders if o.ref in wanted)
    if hook == "order-sign":
        return orders
    return ()


def judge(
    hook: str,
    record: PatientRecord,
    selections: Sequence[str] | None = None,
    mapping: MappingConfig | None = None,
) -> Judgement:
    """Step 1: read the drafts, pick the judged orders, decide whether the record is needed."""
    drafts = read_drafts(record, mapping)
    judged = _judged(hook, drafts.orders, selections)
    return Judgement(
        hook=hook,
        orders=drafts.orders,
        judged=judged,
        needs_record=patient_record_needed(hook, judged),
        unresolved=drafts.unresolved,
        notes=drafts.notes,
    )


def conclude(
    judgement: Judgement,
    record: PatientRecord,
    config: RuleConfig,
    today: date,
    mapping: MappingConfig | None = None,
    stage: StageClock = _untimed,
) -> Evaluation:
    """Step 2: the record's facts (read only when `judgement.needs_record`), rules, cards."""
    with stage("mapping"):
        facts = read_patient(record, today, mapping) if judgement.needs_record else None
        facts = facts or unread_record(record)
        if judgement.notes:
            notes = tuple(dict.fromkeys((*judgement.notes, *facts.parse_notes)))
            facts = facts.model_copy(update={"parse_notes": notes})
    rule_input = RuleInput(
        hook=judgement.hook, facts=facts, config=config, today=today, orders=judgement.judged
    )
    with stage("rules"):
        decided = decide(rule_input)
    with stage("render"):
        cards: list[Card] = [
            rule.render(d, config) for rule, decisions in decided for d in decisions
        ]
    return Evaluation(cards=cards, facts=facts, judgement=judgement)


def decide(rule_input: RuleInput) -> list[tuple[Rule, list[Decision]]]:
    """Every rule of the hook on these facts, in registry order. A deceased patient gets
    no card at all (Patient.deceased[x]): no rule runs."""
    if rule_input.facts.deceased is not None:
        return []
    decided = []
    for rule in rules_for(rule_input.hook):
        decisions = rule.evaluate(rule_input)
        if rule.one_per_response:
            decisions = decisions[:1]
        decided.append((rule, decisions))
    return decided


def evaluate(
    hook: str,
    record: PatientRecord,
    config: RuleConfig,
    today: date,
    selections: Sequence[str] | None = None,
    mapping: MappingConfig | None = None,
    stage: StageClock = _untimed,
) -> Evaluation:
    """Both steps, for a request that holds all the data it will get."""
    with stage("mapping"):
        judgement = judge(hook, record, selections, mapping)
    return conclude(judgement, record, config, today, mapping, stage)
