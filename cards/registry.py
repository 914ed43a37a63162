"""The explicit, ordered rule registry: which rules run at which hook, checked at start-up.

Order matters: cards come out in registry order (the MSC warning first).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cards.config import RuleConfig
from cards.content import content
from cards.decision import Decision, RuleInput
from cards.proposals import products as proposal_products
from cards.proposals import rxnorm_ingredient
from cards.render import render_dmt_order_check
from cards.render_advice import (
    render_ahsct_referral,
    render_data_gaps,
    render_dmt_escalation,
    render_ppms_ocrelizumab,
)
from cards.render_orders import render_msc, render_stem_cell_clarify
from cards.rules.ahsct import ahsct_referral
from cards.rules.dmt_order import dmt_order_check
from cards.rules.escalation import dmt_escalation
from cards.rules.gaps import data_gaps
from cards.rules.msc import msc_warning
from cards.rules.ppms import OCRELIZUMAB, ppms_ocrelizumab
from cards.rules.stem_cell import stem_cell_clarify
from cds_hooks import Card
from fhir_mappings.facts import DraftOrder, OrderKind
from fhir_mappings.valuesets import all_value_sets

__all__ = [
    "HOOKS",
    "RULES",
    "RegistryError",
    "Rule",
    "check_registry",
    "patient_record_needed",
    "rules_for",
]

HOOKS = frozenset({"order-select", "order-sign", "patient-view"})
ORDER_HOOKS = frozenset({"order-select", "order-sign"})
PATIENT_VIEW = frozenset({"patient-view"})


class RegistryError(RuntimeError):
    """The rule registry is inconsistent; the service must not start."""


@dataclass(frozen=True)
class Rule:
    name: str
    topic: str
    hooks: frozenset[str]
    evaluate: Callable[[RuleInput], list[Decision]]
    render: Callable[[Decision, RuleConfig], Card]
    # dmtOrderCheck repeats (one card per DMT order); every other rule, mscWarning
    # included (one card naming all its MSC orders), gives one card per response.
    one_per_response: bool = True


RULES: tuple[Rule, ...] = (
    # One card naming every judged MSC order; at patient-view the MSC orders already in
    # the record (EHRs with no order hook).
    Rule("msc-warning", "mscWarning", HOOKS, msc_warning, render_msc),
    Rule(
        "dmt-order-check",
        "dmtOrderCheck",
        ORDER_HOOKS,
        dmt_order_check,
        render_dmt_order_check,
        one_per_response=False,
    ),
    Rule(
        "stem-cell-clarify",
        "stemCellClarify",
        ORDER_HOOKS,
        stem_cell_clarify,
        render_stem_cell_clarify,
    ),
    Rule("ahsct-referral", "ahsctReferral", PATIENT_VIEW, ahsct_referral, render_ahsct_referral),
    Rule("dmt-escalation", "dmtEscalation", HOOKS, dmt_escalation, render_dmt_escalation),
    Rule("ppms-ocrelizumab", "ppmsOcrelizumab", HOOKS, ppms_ocrelizumab, render_ppms_ocrelizumab),
    Rule("data-gaps", "dataGaps", PATIENT_VIEW, data_gaps, render_data_gaps),
)


def patient_record_needed(hook: str, judged: tuple[DraftOrder, ...]) -> bool:
    """Whether any rule at this hook can use the patient's record for these orders.

    patient-view always reads it. At the order hooks every rule judges an MSC or a
    DMT order (mscWarning, dmtOrderCheck, dmtEscalation, ppmsOcrelizumab); with neither among the
    judged orders no rule can fire, so the record need not be parsed (most orders a
    health system sends are neither). tests/cards/test_engine.py holds this
    against every golden request.
    """
    if hook not in ORDER_HOOKS:
        return True
    return any(order.kind in _NEED_RECORD for order in judged)


_NEED_RECORD = frozenset({OrderKind.MSC, OrderKind.DMT, OrderKind.STEM_CELL_UNSPECIFIED})


def rules_for(hook: str) -> list[Rule]:
    return [rule for rule in RULES if hook in rule.hooks]


def check_registry(rules: tuple[Rule, ...] = RULES) -> None:
    """Fail fast: unique names and topics, known hooks, content and value sets load, and
    every drug the content or the product file names is in the DMT value set."""
    names = [r.name for r in rules]
    if len(set(names)) != len(names):
        raise RegistryError(f"duplicate rule names in {names}")
    topics = [r.topic for r in rules]
    if len(set(topics)) != len(topics):
        raise RegistryError(f"duplicate topics in {topics}")
    for rule in rules:
        unknown = rule.hooks - HOOKS
        if unknown or not rule.hooks:
            raise RegistryError(f"rule {rule.name}: unknown or no hooks {sorted(unknown)}")
        try:
            content(rule.topic)
        except (OSError, ValueError) as exc:
            raise RegistryError(f"rule {rule.name}: card content: {exc}") from exc
    if rules and rules[0].topic != "mscWarning":
        raise RegistryError("the mscWarning rule must come first")
    try:
        all_value_sets()
        checks = content("dmtOrderCheck")
        for drug in (
            *content("dmtEscalation")["options"],
            OCRELIZUMAB,
            *proposal_products(),  # a mistyped drug name would silently never match
            *checks["pregnancy"],
            *checks["anti_cd20"],
            *checks["ms_dmts_exempt_from_diagnosis_check"],
        ):
            rxnorm_ingredient(drug)
    except (OSError, ValueError) as exc:
        raise RegistryError(f"value sets: {exc}") from exc
