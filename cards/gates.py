"""Safety gates: may this option be proposed to this patient, and if not, why.

Plain functions of `PatientFacts` (+ `RuleConfig`, today), between facts and cards.
`advice_block` says why a patient gets no MS treatment advice at all (MS not the
current, confirmed diagnosis; deceased is handled by the engine). `gate_option` judges
one option (a DMT ingredient as in dmt.json, or `AHSCT`): allowed, allowed with a
caveat ("test JCV antibody first"), or not proposed, each note a one-line reason with
the gate's source (a label section or guideline, see docs/research/advice.md). Rules
propose only allowed options and print `OptionGate.line()` for the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import cached_property

from cards.config import RuleConfig
from fhir_mappings.dates import add_months
from fhir_mappings.facts import (
    Certainty,
    DmtExposure,
    MimicKind,
    MriMeasure,
    PatientFacts,
    PregnancyState,
    StopReason,
)
from fhir_mappings.facts import LabResult as Lab

__all__ = [
    "AHSCT",
    "ANTI_CD20",
    "GateNote",
    "OptionGate",
    "Verdict",
    "advice_block",
    "gate_option",
    "gate_options",
    "inadequate_response",
    "left_out_lines",
]

AHSCT = "ahsct"
ANTI_CD20 = frozenset({"ocrelizumab", "ofatumumab", "ublituximab", "rituximab"})
_SAFETY_STOPS = frozenset({StopReason.ADVERSE_EVENT, StopReason.INFECTION, StopReason.PML_RISK})
_INTOLERANCE = frozenset({StopReason.ADVERSE_EVENT, StopReason.INFECTION})
_MEDS = {"medicationRequests", "medicationStatements"}
_CLADRIBINE_PAUSE_MONTHS = 24  # Mavenclad US label 5.1: no more treatment for 2 years


class Verdict(StrEnum):
    ALLOWED = "allowed"
    CAVEAT = "allowed-with-caveat"
    NOT_PROPOSED = "not-proposed"


@dataclass(frozen=True)
class GateNote:
    """One gate that fired: a caveat or a reason not to propose, and its source."""

    gate: str
    verdict: Verdict
    reason: str  # one line, values and dates only (no free text from the record)
    source: str
    evidence: tuple[str, ...] = ()

    def explain(self) -> dict[str, object]:
        out: dict[str, object] = {
            "gate": self.gate,
            "verdict": str(self.verdict),
            "reason": self.reason,
            "source": self.source,
        }
        if self.evidence:
            out["resources"] = list(self.evidence)
        return out


@dataclass(frozen=True)
class OptionGate:
    option: str
    notes: tuple[GateNote, ...] = ()

    # Worked out on first use and kept on the (frozen) instance: a rule asks a gate
    # whether it allows its option several times.
    @cached_property
    def blocking(self) -> GateNote | None:
        return next((n for n in self.notes if n.verdict is Verdict.NOT_PROPOSED), None)

    @property
    def verdict(self) -> Verdict:
        if self.blocking is not None:
            return Verdict.NOT_PROPOSED
        return Verdict.CAVEAT if self.notes else Verdict.ALLOWED

    @property
    def allowed(self) -> bool:
        return self.blocking is None

    @property
    def evidence(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s for n in self.notes for s in n.evidence))

    def line(self) -> str | None:
        """'- natalizumab not proposed: ... (source)'; '- natalizumab: ... (source)'; None."""
        blocking = self.blocking
        if blocking is not None:
            return f"- {self.option} not proposed: {blocking.reason} ({blocking.source})"
        if not self.notes:
            return None
        said = "; ".join(f"{n.reason} ({n.source})" for n in self.notes)
        return f"- {self.option}: {said}"

    def explain(self) -> dict[str, object]:
        return {
            "option": self.option,
            "verdict": str(self.verdict),
            "notes": [n.explain() for n in self.notes],
        }


def left_out_lines(gates: tuple[OptionGate, ...] | list[OptionGate]) -> list[str]:
    """The one-line reasons, options left out first, then caveats."""
    out = [g.line() for g in gates if not g.allowed]
    out += [g.line() for g in gates if g.allowed]
    return [line for line in out if line]


# --- the patient: is this MS treatment advice at all ----------------------------------

_NMOSD_SOURCE = (
    "Curr Treat Options Neurol 2015, doi:10.1007/s11940-015-0378-x: interferon beta and "
    "natalizumab ineffective and in some cases harmful in NMO"
)


def advice_block(facts: PatientFacts) -> GateNote | None:
    """Why MS treatment advice does not apply (None when MS is current and confirmed).

    NMOSD or MOGAD outranks MS (even beside an older MS entry); a provisional,
    differential or 'possible' MS, CIS or RIS alone is not MS.
    """
    for mimic in facts.mimics:
        if mimic.kind in (MimicKind.NMOSD, MimicKind.MOGAD):
            name = "NMOSD" if mimic.kind is MimicKind.NMOSD else "MOGAD"
            source = _NMOSD_SOURCE if mimic.kind is MimicKind.NMOSD else "record: diagnosis"
            return GateNote(
                "diagnosis",
                Verdict.NOT_PROPOSED,
                f"{name} recorded: MS treatment advice does not apply",
                source,
                (mimic.source,),
            )
    if facts.ms_confirmed:
        return None
    if facts.ms_diagnoses:
        return GateNote(
            "diagnosis",
            Verdict.NOT_PROPOSED,
            "MS diagnosis not confirmed (provisional, differential or possible)",
            "record: Condition.verificationStatus",
            tuple(d.source for d in facts.ms_diagnoses if d.certainty is Certainty.UNCONFIRMED),
        )
    kinds = sorted({m.kind.value.upper() for m in facts.mimics})
    reason = f"{' and '.join(kinds)} recorded, not MS" if kinds else "no MS diagnosis recorded"
    return GateNote(
        "diagnosis",
        Verdict.NOT_PROPOSED,
        reason,
        "record: Condition",
        tuple(m.source for m in facts.mimics),
    )


# --- the record's treatment history ----------------------------------------------------


def _activity_dates(facts: PatientFacts, config: RuleConfig) -> list[tuple[date, date, str]]:
    """(earliest, latest, source) of every relapse and active MRI, at any time."""
    minimum = {
        MriMeasure.GD_ENHANCING: config.activity_min_gd_lesions,
        MriMeasure.NEW_OR_ENLARGING_T2: config.activity_min_new_t2_lesions,
    }
    out = [(r.on.earliest, r.on.latest, r.source) for r in facts.relapses if r.on]
    out += [
        (m.on.earliest, m.on.latest, m.source)
        for m in facts.mri_counts
        if m.on and m.count >= minimum[m.measure]
    ]
    return out


def _reasons(dmt: DmtExposure) -> set[StopReason]:
    return set(dmt.stop_reasons) | ({dmt.stop_reason} if dmt.stop_reason else set())


def inadequate_response(
    dmt: DmtExposure, facts: PatientFacts, config: RuleConfig, today: date
) -> str | None:
    """Why `dmt` counts as an inadequate response (stopped for lack of efficacy, or a relapse
    or active MRI certainly while on it after its onset of effect), else None."""
    if StopReason.LACK_OF_EFFICACY in _reasons(dmt):
        return "stopped for lack of efficacy"
    effect = dmt.effect_from.latest if dmt.effect_from else None
    if effect is None and dmt.start is not None:
        effect = add_months(dmt.start.latest, config.he_failure_min_months)
    if effect is None:
        return None
    until = dmt.effective_until or dmt.end
    for earliest, latest, _source in _activity_dates(facts, config):
        ends_ok = dmt.current or until is None or latest <= until.latest
        if earliest >= effect and ends_ok and latest <= today:
            return "disease activity while on it"
    return None


def _exposures(facts: PatientFacts, option: str) -> list[DmtExposure]:
    return [d for d in facts.dmts if d.ingredient == option]


def _note(gate: str, reason: str, source: str, *evidence: str) -> GateNote:
    return GateNote(gate, Verdict.NOT_PROPOSED, reason, source, tuple(evidence))


def _caveat(gate: str, reason: str, source: str, *evidence: str) -> GateNote:
    return GateNote(gate, Verdict.CAVEAT, reason, source, tuple(evidence))


def _history(option: str, facts: PatientFacts, config: RuleConfig, today: date) -> list[GateNote]:
    notes: list[GateNote] = []
    for dmt in _exposures(facts, option):
        if dmt.current:
            notes.append(_note("current", "the patient is on it", "record", *dmt.sources))
            continue
        safety = sorted(str(r) for r in _reasons(dmt) & _SAFETY_STOPS)
        if safety:
            notes.append(
                _note(
                    "stopped-for-safety",
                    f"stopped before for safety ({', '.join(safety)})",
                    "record: stop reason",
                    *dmt.sources,
                )
            )
        failed = inadequate_response(dmt, facts, config, today)
        if failed:
            notes.append(_note("failed", f"failed before ({failed})", "record", *dmt.sources))
    for refusal in facts.refusals:
        if refusal.option == option:
            notes.append(
                _note("refusal", "the patient declined it", "record: refusal", refusal.source)
            )
    return notes


# --- pregnancy --------------------------------------------------------------------------

# Not proposed when pregnant or planning a pregnancy: (the label's words, the wait after it).
_PREGNANCY_EXCLUDED = {
    "cladribine": (
        "Mavenclad US label, boxed warning: contraindicated in pregnant women; contraception "
        "for 6 months after the last dose of each course",
    ),
    "teriflunomide": (
        "Aubagio US label, boxed warning: contraindicated in pregnant women; accelerated "
        "elimination before pregnancy",
    ),
    "fingolimod": (
        "Gilenya EU SmPC (EMA 2019): contraindicated in pregnancy; contraception for 2 months "
        "after stopping",
    ),
    "siponimod": (
        "Mayzent SmPC: contraindicated during pregnancy; stop at least 10 days before a "
        "planned pregnancy",
    ),
    "ozanimod": (
        "Zeposia label: fetal risk, contraception for 3 months after stopping (contraindicated "
        "in pregnancy in the Swiss/EU text)",
    ),
    "ponesimod": (
        "Ponvory label: must be stopped in pregnancy; contraception for 1 week after stopping",
    ),
    "alemtuzumab": (
        "Lemtrada label: contraception during a course and for 4 months after it; starting "
        "in pregnancy is contraindicated (Swiss label)",
    ),
    AHSCT: (
        "cyclophosphamide (conditioning) label: can cause fetal harm; no pregnancy for 12 "
        "months after treatment (SmPC)",
    ),
}
_PREGNANCY_CAVEAT = {
    "ocrelizumab": "Ocrevus label: avoid in pregnancy unless benefit outweighs risk; "
    "contraception for 6 months after the last infusion (US)",
    "ofatumumab": "Kesimpta label: avoid in pregnancy unless benefit outweighs risk; "
    "contraception for 6 months after the last dose",
    "ublituximab": "Briumvi label: verify pregnancy status before each infusion",
    "natalizumab": "Tysabri SmPC: in pregnancy only if clearly needed; consider stopping "
    "if pregnancy occurs",
}


def _pregnancy(option: str, facts: PatientFacts) -> list[GateNote]:
    pregnancy = facts.pregnancy
    if pregnancy is None or pregnancy.state is PregnancyState.NOT_PREGNANT:
        return []
    when = f" ({pregnancy.on.text})" if pregnancy.on else ""
    state = "pregnancy" if pregnancy.state is PregnancyState.PREGNANT else "planned pregnancy"
    if option in _PREGNANCY_EXCLUDED:
        (source,) = _PREGNANCY_EXCLUDED[option]
        return [_note("pregnancy", f"{state} recorded{when}", source, pregnancy.source)]
    if option in _PREGNANCY_CAVEAT:
        reason = f"{state} recorded{when}: discuss benefit and risk before starting"
        return [_caveat("pregnancy", reason, _PREGNANCY_CAVEAT[option], pregnancy.source)]
    return []


# --- age under 18 ----------------------------------------------------------------------

_NO_PAEDIATRIC = {
    "ocrelizumab": "Ocrevus US label, section 1: indicated in adults",
    "ofatumumab": "Kesimpta label: safety and efficacy in children not established",
    "ublituximab": "Briumvi US label, section 1: indicated in adults",
    "rituximab": "no MS indication",
    "natalizumab": "natalizumab (Tyruko) label: not indicated for use in pediatric patients",
    "alemtuzumab": "Lemtrada: not known to be safe and effective under 17 years",
    "cladribine": "Mavenclad US label, section 1: indicated in adults",
}
_AHSCT_CHILD = (
    "Burman J, et al. Bone Marrow Transplant 2017, doi:10.1038/bmt.2017.40 (EBMT registry, "
    "21 patients)"
)


def _paediatric(option: str, facts: PatientFacts) -> list[GateNote]:
    age = facts.age
    if age is None:
        return []
    under = age.below(18)
    if under is False:
        return []
    if option == AHSCT:
        if under:
            reason = f"age {age.text}: paediatric evidence is minimal"
            return [_caveat("paediatric", reason, _AHSCT_CHILD, age.source)]
        return []
    if option not in _NO_PAEDIATRIC:
        return []
    if under:
        reason = f"age {age.text}: no paediatric indication"
        return [_note("paediatric", reason, _NO_PAEDIATRIC[option], age.source)]
    reason = f"age {age.text}: confirm the patient is 18 or older (no paediatric indication)"
    return [_caveat("paediatric", reason, _NO_PAEDIATRIC[option], age.source)]


# --- natalizumab and JCV; anti-CD20 and hepatitis B -----------------------------------

_TYSABRI = "Tysabri label, boxed warning and 5.1: anti-JCV antibodies are a PML risk factor"
_TYSABRI_TEST = "Tysabri SmPC: anti-JCV antibody testing before treatment, re-test every 6 months"


def _jcv(facts: PatientFacts, config: RuleConfig, today: date) -> list[GateNote]:
    jcv = facts.jcv
    if jcv is None:
        return [_caveat("jcv", "test JCV antibody first", _TYSABRI_TEST)]
    when = f" ({jcv.on.text})" if jcv.on else ""
    if jcv.result is Lab.INDETERMINATE:
        return [_caveat("jcv", f"JCV antibody indeterminate{when}: re-test", _TYSABRI_TEST)]
    limit = config.natalizumab_jcv_max_index
    if jcv.result is Lab.POSITIVE:
        if jcv.index is None:
            reason = f"JCV antibody positive{when}, no index reported (PML risk)"
            return [_note("jcv", reason, _TYSABRI, jcv.source)]
        if jcv.index > limit:
            reason = f"JCV antibody index {jcv.index:g} above {limit:g}{when} (PML risk)"
            source = f"{_TYSABRI}; index limit: {config.natalizumab_jcv_index_source}"
            return [_note("jcv", reason, source, jcv.source)]
    stale = jcv.on is None or jcv.on.latest < add_months(today, -config.jcv_result_max_months)
    if jcv.result is Lab.POSITIVE:
        reason = f"JCV antibody positive, index {jcv.index:g}{when}: PML risk rises after 2 years"
        return [_caveat("jcv", reason + ("; re-test" if stale else ""), _TYSABRI, jcv.source)]
    if stale:
        reason = f"JCV antibody negative{when or ' (undated)'}: re-test first"
        return [_caveat("jcv", reason, _TYSABRI_TEST, jcv.source)]
    return []


_HBV_LABEL = {
    "ocrelizumab": "Ocrevus US label 2.1 and 4",
    "ofatumumab": "Kesimpta US label 2.1 and 4",
    "ublituximab": "Briumvi US label 2.1 and 4",
    "rituximab": "rituximab label: HBV screening before treatment",
}


def _hbv(option: str, facts: PatientFacts) -> list[GateNote]:
    source = _HBV_LABEL[option]
    hbv = facts.hbv
    if hbv is None or hbv.hbsag is None:
        return [_caveat("hbv", "screen for HBV (HBsAg, anti-HBc) first", source)]
    evidence = hbv.sources
    if hbv.hbsag is Lab.POSITIVE:
        reason = (
            "HBsAg positive: hepatitis B must be assessed by a liver specialist first; "
            "active HBV is a contraindication"
        )
        return [_note("hbv", reason, source, *evidence)]
    if hbv.hbsag is Lab.INDETERMINATE:
        return [_caveat("hbv", "HBsAg indeterminate: repeat HBV screening", source, *evidence)]
    if hbv.anti_hbc is Lab.POSITIVE:
        reason = "anti-HBc positive: consult a liver specialist before starting"
        return [_caveat("hbv", reason, source, *evidence)]
    if hbv.anti_hbc is None:
        return [_caveat("hbv", "anti-HBc not recorded: complete HBV screening", source, *evidence)]
    return []


# --- label sequencing and the cladribine pause ----------------------------------------

_LEMTRADA = (
    "Lemtrada US label, section 1: should generally be reserved for inadequate response to "
    "two or more MS drugs"
)
_MAVENCLAD = (
    "Mavenclad US label, section 1: generally recommended after inadequate response to, or "
    "intolerance of, another MS drug"
)
_MAVENCLAD_PAUSE = (
    "Mavenclad US label 5.1: after 2 courses, no further treatment during the next 2 years"
)


def _sequencing(
    option: str, facts: PatientFacts, config: RuleConfig, today: date
) -> list[GateNote]:
    if _MEDS <= set(facts.unavailable):
        source = _LEMTRADA if option == "alemtuzumab" else _MAVENCLAD
        return [_note("sequencing", "prior MS drugs could not be retrieved", source)]
    others = [d for d in facts.dmts if d.ingredient != option]
    inadequate = [d for d in others if inadequate_response(d, facts, config, today)]
    if option == "alemtuzumab":
        if len(inadequate) >= 2:
            return []
        n = len(inadequate)
        reason = (
            f"inadequate response recorded to {n} MS drug{'' if n == 1 else 's'}, not 2 or more"
        )
        return [_note("sequencing", reason, _LEMTRADA, *(s for d in inadequate for s in d.sources))]
    intolerant = [d for d in others if _reasons(d) & _INTOLERANCE]
    if inadequate or intolerant:
        return []
    reason = (
        "no prior MS drug recorded"
        if not others
        else "no inadequate response to or intolerance of a prior MS drug recorded"
    )
    return [_note("sequencing", reason, _MAVENCLAD)]


def _cladribine_pause(facts: PatientFacts, today: date) -> list[GateNote]:
    for dmt in _exposures(facts, "cladribine"):
        if (dmt.courses or 0) < 2:
            continue
        last = dmt.last_dose or dmt.end
        if last is None:
            reason = "2 courses recorded, the last one undated"
            return [_note("cladribine-pause", reason, _MAVENCLAD_PAUSE, *dmt.sources)]
        if add_months(last.latest, _CLADRIBINE_PAUSE_MONTHS) > today:
            reason = f"2 courses completed ({last.text}): inside the 2-year pause"
            return [_note("cladribine-pause", reason, _MAVENCLAD_PAUSE, *dmt.sources)]
        reason = "re-treatment after the 2-year pause has not been studied"
        return [_caveat("cladribine-pause", reason, _MAVENCLAD_PAUSE, *dmt.sources)]
    return []


def _ahsct_refusal(facts: PatientFacts) -> list[GateNote]:
    return [
        _note("refusal", "the patient declined it", "record: refusal", r.source)
        for r in facts.refusals
        if r.option == AHSCT
    ]


def gate_option(option: str, facts: PatientFacts, config: RuleConfig, today: date) -> OptionGate:
    """Every gate for one option (a DMT ingredient or AHSCT), in a fixed order."""
    return _gate_option(option, facts, config, today, advice_block(facts))


def _gate_option(
    option: str, facts: PatientFacts, config: RuleConfig, today: date, blocked: GateNote | None
) -> OptionGate:
    """`gate_option`, with the patient's `advice_block` worked out by the caller."""
    diagnosis = [blocked] if blocked else []
    if option == AHSCT:
        notes = [
            *diagnosis,
            *_ahsct_refusal(facts),
            *_pregnancy(option, facts),
            *_paediatric(option, facts),
        ]
        return OptionGate(option, tuple(notes))
    notes = [*diagnosis, *_history(option, facts, config, today)]
    notes += _pregnancy(option, facts)
    notes += _paediatric(option, facts)
    if option == "natalizumab":
        notes += _jcv(facts, config, today)
    if option in ANTI_CD20:
        notes += _hbv(option, facts)
    if option in ("alemtuzumab", "cladribine"):
        notes += _sequencing(option, facts, config, today)
    if option == "cladribine":
        notes += _cladribine_pause(facts, today)
    return OptionGate(option, tuple(notes))


def gate_options(
    options: list[str] | tuple[str, ...], facts: PatientFacts, config: RuleConfig, today: date
) -> tuple[OptionGate, ...]:
    blocked = advice_block(facts)  # the patient's, the same for every option
    return tuple(_gate_option(o, facts, config, today, blocked) for o in options)
