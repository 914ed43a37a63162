"""dmtOrderCheck: label checks on a DMT being ordered (order-select, order-sign).

One card per judged DMT order with at least one finding, at the worst finding's
indicator:

- pregnancy (the record's latest pregnancy state): teriflunomide, cladribine and the
  S1P modulators contraindicated in pregnancy -> critical; alemtuzumab -> warning; a
  planned pregnancy -> warning with the label's contraception window;
- natalizumab: no anti-JCV antibody result (or an indeterminate one), a positive one
  without index, or an index above CDS_NATALIZUMAB_JCV_MAX_INDEX -> warning;
- an anti-CD20: HBsAg positive -> critical; no HBsAg result -> warning, unless the
  patient is on this drug already (the labels ask for screening before initiating);
  HBsAg negative with anti-HBc positive -> warning (consult a liver specialist);
- a current NMOSD or MOGAD diagnosis while an MS DMT is ordered (not rituximab, an
  off-label MS drug) -> warning.

An order with a stated non-MS reason (rituximab for lymphoma) is not checked.

Wording, drug lists and sources: cards/content/dmtOrderCheck.json.
"""

from __future__ import annotations

from dataclasses import dataclass

from cards.content import content
from cards.decision import Decision, RuleInput
from fhir_mappings.facts import (
    Certainty,
    DateSpan,
    DraftOrder,
    LabResult,
    MimicKind,
    OrderKind,
    OrderReason,
    PatientFacts,
    PregnancyState,
)

__all__ = ["TOPIC", "Finding", "dmt_order_check", "findings"]

TOPIC = "dmtOrderCheck"
_RANK = {"info": 0, "warning": 1, "critical": 2}


@dataclass(frozen=True)
class Finding:
    check: str  # a key of the content's "summaries"
    indicator: str
    lines: tuple[str, ...]
    sources: tuple[str, ...]
    evidence: dict[str, object]


def _when(span: DateSpan | None) -> str:
    return f", {span.text}" if span else ""


def _pregnancy(facts: PatientFacts, drug: str) -> list[Finding]:
    text = content(TOPIC)
    label = text["pregnancy"].get(drug)
    pregnancy = facts.pregnancy
    if label is None or pregnancy is None or pregnancy.state is PregnancyState.NOT_PREGNANT:
        return []
    planned = pregnancy.state is PregnancyState.PLANNED
    where = text["lines"]["pregnancySource"].format(
        state=str(pregnancy.state), source=pregnancy.source, date=_when(pregnancy.on)
    )
    return [
        Finding(
            check="planned" if planned else "pregnant",
            indicator="warning" if planned else label["indicator"],
            lines=(where, "- " + label["planned" if planned else "pregnant"]),
            sources=(pregnancy.source,),
            evidence={"pregnancy": str(pregnancy.state), "on": pregnancy.on and pregnancy.on.text},
        )
    ]


def _natalizumab(facts: PatientFacts, threshold: float) -> list[Finding]:
    lines = content(TOPIC)["lines"]
    jcv = facts.jcv
    if jcv is None or jcv.result is LabResult.INDETERMINATE:
        evidence: dict[str, object] = {"jcv": str(jcv.result) if jcv else "no result"}
        sources = (jcv.source,) if jcv else ()
        return [Finding("jcvUnknown", "warning", (lines["jcvUnknown"],), sources, evidence)]
    if jcv.result is not LabResult.POSITIVE:
        return []
    on = _when(jcv.on)
    if jcv.index is None:
        line = lines["jcvPositiveNoIndex"].format(source=jcv.source, date=on)
        evidence = {"jcv": "positive", "index": "not reported"}
        return [Finding("jcvPositiveNoIndex", "warning", (line,), (jcv.source,), evidence)]
    if jcv.index <= threshold:
        return []
    line = lines["jcvHigh"].format(index=jcv.index, source=jcv.source, date=on, threshold=threshold)
    evidence = {"jcv": "positive", "index": jcv.index, "threshold": threshold}
    return [Finding("jcvHigh", "warning", (line,), (jcv.source,), evidence)]


def _hbv(facts: PatientFacts, drug: str) -> list[Finding]:
    lines = content(TOPIC)["lines"]
    hbv = facts.hbv
    hbsag = hbv.hbsag if hbv else None
    if hbv is None or hbsag in (None, LabResult.INDETERMINATE):
        if any(d.ingredient == drug for d in facts.current_dmts):
            return []  # the label asks for screening before initiating: this continues it
        sources = hbv.sources if hbv else ()
        evidence: dict[str, object] = {"hbsag": str(hbsag) if hbsag else "no result"}
        line = lines["hbvUnknown"].format(drug=drug)
        return [Finding("hbvUnknown", "warning", (line,), sources, evidence)]
    where = {"sources": ", ".join(hbv.sources) or "HbvStatus", "date": _when(hbv.on), "drug": drug}
    if hbsag is LabResult.POSITIVE:
        line = lines["hbsagPositive"].format(**where)
        evidence = {"hbsag": "positive", "antiHbc": str(hbv.anti_hbc or "no result")}
        return [Finding("hbsagPositive", "critical", (line,), hbv.sources, evidence)]
    if hbv.anti_hbc is LabResult.POSITIVE:
        line = lines["antiHbcPositive"].format(**where)
        evidence = {"hbsag": "negative", "antiHbc": "positive"}
        return [Finding("antiHbcPositive", "warning", (line,), hbv.sources, evidence)]
    return []


def _diagnosis(facts: PatientFacts, drug: str) -> list[Finding]:
    text = content(TOPIC)
    if drug in text["ms_dmts_exempt_from_diagnosis_check"]:
        return []
    for kind in (MimicKind.NMOSD, MimicKind.MOGAD):
        for mimic in facts.mimics:
            if mimic.kind is not kind:
                continue
            certainty = "" if mimic.certainty is Certainty.CONFIRMED else f"; {mimic.certainty}"
            line = text["lines"][str(kind)].format(
                source=mimic.source, certainty=certainty, drug=drug
            )
            evidence: dict[str, object] = {
                "diagnosis": str(kind),
                "certainty": str(mimic.certainty),
            }
            return [Finding(str(kind), "warning", (line,), (mimic.source,), evidence)]
    return []


def findings(facts: PatientFacts, order: DraftOrder, jcv_threshold: float) -> list[Finding]:
    """Every check that fires for this DMT order, worst first."""
    drug = order.dmt_ingredient or ""
    found = _pregnancy(facts, drug)
    if drug == "natalizumab":
        found += _natalizumab(facts, jcv_threshold)
    if drug in content(TOPIC)["anti_cd20"]:
        found += _hbv(facts, drug)
    found += _diagnosis(facts, drug)
    return sorted(found, key=lambda f: -_RANK[f.indicator])


def dmt_order_check(rule_input: RuleInput) -> list[Decision]:
    if rule_input.hook not in ("order-select", "order-sign"):
        return []
    facts = rule_input.facts
    decisions = []
    for order in rule_input.orders:
        if order.kind is not OrderKind.DMT or not order.dmt_ingredient:
            continue
        if order.reason is OrderReason.NON_MS:
            continue  # e.g. rituximab for lymphoma, natalizumab for Crohn's: not MS care
        found = findings(facts, order, rule_input.config.natalizumab_jcv_max_index)
        if not found:
            continue
        decisions.append(
            Decision(
                topic=TOPIC,
                indicator=found[0].indicator,
                order_ref=order.ref,
                sources=(*order.sources, *(s for f in found for s in f.sources)),
                explanation={
                    "order": order.ref,
                    "orderedDmt": {"ingredient": order.dmt_ingredient},
                    "checks": [
                        {"check": f.check, "indicator": f.indicator, **f.evidence} for f in found
                    ],
                },
                details={
                    "summary": found[0].check,
                    "lines": [line for f in found for line in f.lines],
                },
            )
        )
    return decisions
