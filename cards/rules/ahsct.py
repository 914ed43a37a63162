"""ahsctReferral: every ECTRIMS/EBMT AHSCT criterion met -> suggest a referral.

Each criterion is judged met / not met / unknown with its evidence (value, date,
resources). Thresholds are RuleConfig settings. AHSCT is never suggested for
primary progressive MS. The same criteria feed the dataGaps card and the MSC
warning's "proven alternative".

Safety gates (cards/gates.py): no card unless MS is the current, confirmed diagnosis,
nor when the patient declined AHSCT; in pregnancy the card says the criteria are met
but proposes no referral, and why. The card says which EDSS threshold is in force and
whose it is (the 2025 consensus uses < 6.0; any other value is this site's setting).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from cards.config import RuleConfig
from cards.content import content
from cards.criteria import Criterion, Status, in_window, unavailable_gap, window_start
from cards.decision import Decision, RuleInput
from cards.gates import AHSCT, OptionGate, advice_block, gate_option
from cards.proposals import Proposal, referral
from cards.rules.activity import disease_activity, he_failure
from fhir_mappings.dates import add_years
from fhir_mappings.facts import MriMeasure, MsCourse, OnsetBasis, PatientFacts

__all__ = [
    "TOPIC",
    "ahsct_criteria",
    "ahsct_gate",
    "ahsct_referral",
    "all_met",
    "criteria_for",
    "criteria_sources",
    "referral_proposal",
]

TOPIC = "ahsctReferral"
_COURSE_GAP = (
    "record the current MS course (relapsing-remitting, secondary progressive or primary "
    "progressive)"
)


def _course(facts: PatientFacts, config: RuleConfig, today: date) -> Criterion:
    base = {
        "id": "course",
        "label": "Relapsing MS, or secondary progressive MS with documented activity",
    }
    course = facts.course
    if course is None:
        gap = unavailable_gap(facts, "conditions") or _COURSE_GAP
        return Criterion(**base, status=Status.UNKNOWN, gap=gap)
    value = str(course.course) + (f" ({course.activity})" if course.activity else "")
    common = {**base, "value": value, "sources": course.sources}
    if course.course is MsCourse.RELAPSING_REMITTING:
        return Criterion(**common, status=Status.MET)
    if course.course is MsCourse.PRIMARY_PROGRESSIVE:
        return Criterion(**common, status=Status.NOT_MET)
    if course.course is not MsCourse.SECONDARY_PROGRESSIVE:
        return Criterion(**common, status=Status.UNKNOWN, gap=_COURSE_GAP)
    if course.activity == "active":
        return Criterion(**common, status=Status.MET)
    if course.activity == "non-active":
        return Criterion(**common, status=Status.NOT_MET)
    activity = disease_activity(facts, config, today)
    if activity.status is Status.MET:
        window = config.activity_window_months
        return Criterion(
            **base,
            value=f"{value}; activity in the last {window} months",
            status=Status.MET,
            sources=(*course.sources, *activity.sources),
        )
    return Criterion(
        **common,
        status=Status.UNKNOWN,
        gap="record whether the secondary progressive MS is active (relapses, MRI activity)",
    )


def _age(facts: PatientFacts, config: RuleConfig) -> Criterion:
    base = {"id": "age", "label": f"Age under {config.ahsct_max_age} years"}
    age = facts.age
    if age is None:
        return Criterion(**base, status=Status.UNKNOWN, gap="record the date of birth")
    below = age.below(config.ahsct_max_age)
    common = {**base, "value": age.text, "sources": (age.source,)}
    if below is None:
        return Criterion(
            **common, status=Status.UNKNOWN, gap="record the full date of birth (day and month)"
        )
    return Criterion(**common, status=Status.MET if below else Status.NOT_MET)


_SINCE = {
    OnsetBasis.DIAGNOSIS: "the MS diagnosis",
    OnsetBasis.DMT_START: "the first DMT start",
    OnsetBasis.RELAPSE: "the first recorded relapse",
}


def _duration(facts: PatientFacts, config: RuleConfig, today: date) -> Criterion:
    years = config.ahsct_max_disease_years
    base = {"id": "duration", "label": f"Disease duration under {years} years"}
    onset = facts.onset
    if onset is None:
        gap = unavailable_gap(facts, "conditions") or (
            "onset date missing: record the MS onset date (Condition.onsetDateTime)"
        )
        return Criterion(**base, status=Status.UNKNOWN, gap=gap)
    span = onset.span
    longest = (today - span.earliest).days / 365.25
    # A recordedDate only bounds the duration from below: "at least X" can rule the
    # criterion out, never in.
    lower_bound = onset.lower_bound_only or onset.basis is OnsetBasis.RECORDED_DATE
    value = (
        f"at least {(today - span.latest).days / 365.25:.1f} years since the diagnosis was "
        "recorded (no onset date: recordedDate is a lower bound)"
        if lower_bound
        else f"{longest:.1f} years since {_SINCE.get(onset.basis, 'onset')}"
    )
    common = {**base, "value": value, "date": span.text, "sources": (onset.source,)}
    if add_years(span.latest, years) <= today:
        return Criterion(**common, status=Status.NOT_MET)
    if lower_bound:
        return Criterion(
            **common,
            status=Status.UNKNOWN,
            gap="onset date missing: record the MS onset date (Condition.onsetDateTime)",
        )
    if add_years(span.earliest, years) > today:
        return Criterion(**common, status=Status.MET)
    return Criterion(**common, status=Status.UNKNOWN, gap="record the full MS onset date")


def _edss(facts: PatientFacts, config: RuleConfig, today: date) -> Criterion:
    months = config.edss_window_months
    base = {
        "id": "edss",
        "label": f"EDSS under {config.ahsct_max_edss:.1f} (measured in the last {months} months)",
    }
    start = window_start(today, months)
    recent = [e for e in facts.edss if e.on and in_window(e.on, start, today) is True]
    if not recent:
        gap = unavailable_gap(facts, "observations") or f"no EDSS in the last {months} months"
        return Criterion(**base, status=Status.UNKNOWN, gap=gap)
    latest = max(recent, key=lambda e: (e.on.latest if e.on else start, e.score))
    met = latest.score < config.ahsct_max_edss
    return Criterion(
        **base,
        status=Status.MET if met else Status.NOT_MET,
        value=f"EDSS {latest.score:.1f}",
        date=latest.on.text if latest.on else None,
        sources=(latest.source,),
    )


def _mri(facts: PatientFacts, config: RuleConfig, today: date) -> Criterion:
    months = config.activity_window_months
    gd, t2 = config.ahsct_min_gd_lesions, config.ahsct_min_new_t2_lesions
    base = {
        "id": "mriActivity",
        "label": f"High focal MRI activity in the last {months} months (>= {gd} Gd-enhancing "
        f"or >= {t2} new/enlarging T2 lesions)",
    }
    start = window_start(today, months)
    recent = [m for m in facts.mri_counts if in_window(m.on, start, today) is True]
    if not recent:
        gap = unavailable_gap(facts, "observations") or (
            f"no MRI lesion counts (Gd-enhancing, new/enlarging T2) in the last {months} months"
        )
        return Criterion(**base, status=Status.UNKNOWN, gap=gap)
    minimum = {MriMeasure.GD_ENHANCING: gd, MriMeasure.NEW_OR_ENLARGING_T2: t2}
    names = {
        MriMeasure.GD_ENHANCING: "Gd-enhancing",
        MriMeasure.NEW_OR_ENLARGING_T2: "new/enlarging T2",
    }
    hits = [m for m in recent if m.count >= minimum[m.measure]]
    shown = hits or recent
    best = max(shown, key=lambda m: (m.count, m.on.latest if m.on else start))
    return Criterion(
        **base,
        status=Status.MET if hits else Status.NOT_MET,
        value=f"{best.count} {names[best.measure]} lesion{'s' if best.count != 1 else ''}",
        date=best.on.text if best.on else None,
        sources=tuple(dict.fromkeys(m.source for m in shown)),
    )


def _no_prior(facts: PatientFacts) -> Criterion:
    base = {"id": "noPriorAhsct", "label": "No prior AHSCT"}
    if facts.prior_ahsct:
        first = facts.prior_ahsct[0]
        return Criterion(
            **base,
            status=Status.NOT_MET,
            value="prior AHSCT recorded",
            date=first.on.text if first.on else None,
            sources=tuple(p.source for p in facts.prior_ahsct),
        )
    gap = unavailable_gap(facts, "procedures")
    if gap:
        return Criterion(**base, status=Status.UNKNOWN, gap=gap)
    return Criterion(**base, status=Status.MET, value="no AHSCT procedure recorded")


_Judge = Callable[[PatientFacts, RuleConfig, date], Criterion]
# The seven criteria, in the order the card shows them.
_JUDGES: tuple[_Judge, ...] = (
    _course,
    lambda facts, config, today: _age(facts, config),
    _duration,
    _edss,
    _mri,
    he_failure,
    lambda facts, config, today: _no_prior(facts),
)


def ahsct_criteria(
    facts: PatientFacts, config: RuleConfig, today: date, until_not_met: bool = False
) -> list[Criterion]:
    """The seven criteria, in the order the card shows them; `until_not_met`: only up to
    the first one not met (what follows it changes no rule's decision)."""
    criteria: list[Criterion] = []
    for judge in _JUDGES:
        criterion = judge(facts, config, today)
        criteria.append(criterion)
        if until_not_met and criterion.status is Status.NOT_MET:
            break
    return criteria


def criteria_for(rule_input: RuleInput) -> list[Criterion]:
    """The criteria for this rule input up to the first one not met, worked out once for
    every rule that asks (the list is shared: not to be changed). All seven unless one is
    not met: every rule reads them only then (the referral needs all met; the data gaps,
    the MSC warning's and the stem cell card's alternatives none not met)."""
    return rule_input.shared(
        "ahsct_criteria",
        lambda: ahsct_criteria(rule_input.facts, rule_input.config, rule_input.today, True),
    )


def all_met(criteria: list[Criterion]) -> bool:
    return all(c.status is Status.MET for c in criteria)


def referral_proposal(facts: PatientFacts) -> Proposal:
    return referral(facts.patient_ref, facts.ms_condition_ref)


def criteria_sources(criteria: list[Criterion]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(s for c in criteria for s in c.sources))


def ahsct_gate(facts: PatientFacts, config: RuleConfig, today: date) -> OptionGate:
    """The safety gates for an AHSCT referral (pregnancy, refusal, age under 18)."""
    return gate_option(AHSCT, facts, config, today)


# ECTRIMS/EBMT 2025 (EAN summary, docs/research/advice.md 8.2): EDSS < 6.0.
_CONSENSUS_EDSS = 6.0


def _threshold_lines(facts: PatientFacts, config: RuleConfig) -> list[str]:
    text = content(TOPIC)
    if config.ahsct_max_edss == _CONSENSUS_EDSS:
        lines = [text["edss_consensus"]]
    else:
        lines = [text["edss_site_setting"].format(edss=f"{config.ahsct_max_edss:.1f}")]
    if facts.course and facts.course.course is MsCourse.SECONDARY_PROGRESSIVE:
        lines.append(text["spms_caveat"])
    return lines


def ahsct_referral(rule_input: RuleInput) -> list[Decision]:
    facts, config, today = rule_input.facts, rule_input.config, rule_input.today
    if advice_block(facts) is not None:
        return []
    criteria = criteria_for(rule_input)
    if not all_met(criteria):
        return []
    gate = ahsct_gate(facts, config, today)
    if any(n.gate == "refusal" for n in gate.notes):
        return []  # declined: not proposed again
    text = content(TOPIC)
    notes = ["", *_threshold_lines(facts, config)]
    line = gate.line()
    if line:
        notes += ["", text["gates_heading"], line]
    details: dict[str, object] = {
        "criteria": criteria,
        "proposals": [referral_proposal(facts)] if gate.allowed else [],
        "notes": notes,
    }
    if not gate.allowed:
        details["summary"] = text["summary_not_now"]
    explanation: dict[str, object] = {
        "criteria": [c.explain() for c in criteria],
        "unavailable": list(facts.unavailable),
    }
    if gate.notes:
        explanation["gates"] = [gate.explain()]
    return [
        Decision(
            topic=TOPIC,
            indicator="info",
            sources=(*criteria_sources(criteria), *gate.evidence),
            explanation=explanation,
            details=details,
        )
    ]
