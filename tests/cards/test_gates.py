"""The safety gates: each one, its verdict, its one-line reason and its source."""

from __future__ import annotations

from typing import Any

import pytest

from cards.config import RuleConfig
from cards.gates import AHSCT, Verdict, advice_block, gate_option
from fhir_mappings.facts import (
    Age,
    Certainty,
    HbvStatus,
    JcvStatus,
    LabResult,
    Mimic,
    MimicKind,
    Pregnancy,
    PregnancyState,
    Refusal,
    StopReason,
)
from tests.cards.factbuilders import TODAY, day, dmt, ms, relapse

CONFIG = RuleConfig()
FIVE = ("ocrelizumab", "ofatumumab", "natalizumab", "alemtuzumab", "cladribine")
# Two platform drugs that failed: alemtuzumab's and cladribine's label sequencing is met.
TWO_FAILED = (
    dmt(
        "interferon beta-1a",
        start="2019-06-01",
        end=day("2021-01-01"),
        stop_reasons=(StopReason.LACK_OF_EFFICACY,),
    ),
    dmt("glatiramer acetate", start="2021-02-01"),
)


def _gate(option: str, **facts: Any) -> tuple[Verdict, str]:
    gate = gate_option(option, ms(**facts), CONFIG, TODAY)
    return gate.verdict, gate.line() or ""


def test_confirmed_ms_is_advice() -> None:
    """Confirmed MS with no competing diagnosis: no block."""
    assert advice_block(ms()) is None


@pytest.mark.parametrize("kind", [MimicKind.NMOSD, MimicKind.MOGAD])
def test_nmosd_or_mogad_beside_ms_blocks_all_advice(kind: MimicKind) -> None:
    """NMOSD or MOGAD outranks an MS entry: no option is proposed, the diagnosis is the reason."""
    mimic = Mimic(kind=kind, matched_by="t", source="Condition/nmo")
    facts = ms(mimics=(mimic,))
    block = advice_block(facts)
    assert block is not None and kind.value.upper() in block.reason
    assert "Condition/nmo" in block.evidence
    for option in (*FIVE, AHSCT):
        assert not gate_option(option, facts, CONFIG, TODAY).allowed
    if kind is MimicKind.NMOSD:
        assert "interferon beta and natalizumab" in block.source


def test_unconfirmed_ms_cis_and_ris_get_no_advice() -> None:
    """Possible / provisional MS, or CIS or RIS alone, is not MS: advice is blocked."""
    possible = advice_block(ms(certainty=Certainty.UNCONFIRMED))
    assert possible is not None and "not confirmed" in possible.reason
    cis = ms(ms_diagnoses=(), mimics=(Mimic(kind=MimicKind.CIS, matched_by="t", source="C/c"),))
    block = advice_block(cis)
    assert block is not None and block.reason == "CIS recorded, not MS"


@pytest.mark.parametrize("state", [PregnancyState.PREGNANT, PregnancyState.PLANNED])
def test_pregnancy_gates(state: PregnancyState) -> None:
    """Pregnant or planning: no cladribine, alemtuzumab, teriflunomide, S1P modulator or
    AHSCT; anti-CD20 and natalizumab only with a benefit-risk caveat."""
    pregnancy = Pregnancy(state=state, on=day("2026-10-01"), matched_by="t", source="Obs/preg")
    facts = {"pregnancy": pregnancy, "dmts": TWO_FAILED}
    for option in (
        "cladribine",
        "alemtuzumab",
        "teriflunomide",
        "fingolimod",
        "siponimod",
        "ozanimod",
        "ponesimod",
        AHSCT,
    ):
        verdict, line = _gate(option, **facts)
        assert verdict is Verdict.NOT_PROPOSED, option
        assert "pregnancy recorded (2026-10-01)" in line
    verdict, line = _gate("cladribine", **facts)
    assert "Mavenclad US label, boxed warning" in line
    for option in ("ocrelizumab", "natalizumab"):
        verdict, line = _gate(option, **facts)
        assert verdict is Verdict.CAVEAT and "discuss benefit and risk" in line
    not_pregnant = Pregnancy(state=PregnancyState.NOT_PREGNANT, matched_by="t", source="O/p")
    assert _gate("cladribine", pregnancy=not_pregnant, dmts=TWO_FAILED)[0] is Verdict.ALLOWED


def test_under_18_no_option_without_paediatric_indication() -> None:
    """Age 16: none of the high-efficacy options (labels: adults); AHSCT with a caveat."""
    for option in FIVE:
        verdict, line = _gate(option, age=16)
        assert verdict is Verdict.NOT_PROPOSED and "age 16 years: no paediatric indication" in line
    assert "in adults" in _gate("ocrelizumab", age=16)[1]
    verdict, line = _gate(AHSCT, age=16)
    assert verdict is Verdict.CAVEAT and "paediatric evidence is minimal" in line
    assert "21 patients" in line


def test_age_range_straddling_18_is_a_caveat() -> None:
    """A birth year alone (17-18 years): proposed only with 'confirm the patient is 18'."""
    age = Age(min_years=17, max_years=18, precision="year", source="Patient/p1")
    gate = gate_option("ocrelizumab", ms(age=None).model_copy(update={"age": age}), CONFIG, TODAY)
    assert gate.verdict is Verdict.CAVEAT
    assert "confirm the patient is 18 or older" in (gate.line() or "")


def test_natalizumab_jcv_gate() -> None:
    """JCV unknown: 'test first'; index above the setting or no index: not proposed;
    negative and recent: allowed; negative and old: re-test."""
    unknown = _gate("natalizumab")
    assert unknown[0] is Verdict.CAVEAT and "test JCV antibody first" in unknown[1]
    high = JcvStatus(result=LabResult.POSITIVE, index=2.1, on=day("2026-09-01"), source="O/j")
    verdict, line = _gate("natalizumab", jcv=high)
    assert verdict is Verdict.NOT_PROPOSED and "index 2.1 above 1.5" in line
    assert "PRAC" in line
    no_index = JcvStatus(result=LabResult.POSITIVE, source="O/j")
    assert _gate("natalizumab", jcv=no_index)[0] is Verdict.NOT_PROPOSED
    low = JcvStatus(result=LabResult.POSITIVE, index=0.4, on=day("2026-09-01"), source="O/j")
    assert _gate("natalizumab", jcv=low)[0] is Verdict.CAVEAT
    negative = JcvStatus(result=LabResult.NEGATIVE, on=day("2026-09-01"), source="O/j")
    assert _gate("natalizumab", jcv=negative) == (Verdict.ALLOWED, "")
    old = JcvStatus(result=LabResult.NEGATIVE, on=day("2025-01-01"), source="O/j")
    verdict, line = _gate("natalizumab", jcv=old)
    assert verdict is Verdict.CAVEAT and "re-test first" in line


def test_jcv_index_limit_is_a_setting() -> None:
    """With the limit set to 0.9 (AAN 2018 summary), index 1.2 is not proposed."""
    config = RuleConfig(natalizumab_jcv_max_index=0.9, natalizumab_jcv_index_source="AAN 2018")
    jcv = JcvStatus(result=LabResult.POSITIVE, index=1.2, on=day("2026-09-01"), source="O/j")
    gate = gate_option("natalizumab", ms(jcv=jcv), config, TODAY)
    assert not gate.allowed and "AAN 2018" in (gate.line() or "")


@pytest.mark.parametrize("drug", ["ocrelizumab", "ofatumumab", "ublituximab"])
def test_anti_cd20_hbv_gate(drug: str) -> None:
    """HBV unknown: 'screen first'; HBsAg positive: not proposed (liver specialist; active
    HBV a contraindication); anti-HBc positive: consult first; both negative: allowed."""
    verdict, line = _gate(drug)
    assert verdict is Verdict.CAVEAT and "screen for HBV (HBsAg, anti-HBc) first" in line
    positive = HbvStatus(hbsag=LabResult.POSITIVE, sources=("O/hbs",))
    verdict, line = _gate(drug, hbv=positive)
    assert verdict is Verdict.NOT_PROPOSED and "active HBV is a contraindication" in line
    core = HbvStatus(hbsag=LabResult.NEGATIVE, anti_hbc=LabResult.POSITIVE, sources=("O/c",))
    verdict, line = _gate(drug, hbv=core)
    assert verdict is Verdict.CAVEAT and "consult a liver specialist" in line
    clear = HbvStatus(hbsag=LabResult.NEGATIVE, anti_hbc=LabResult.NEGATIVE, sources=("O/c",))
    assert _gate(drug, hbv=clear) == (Verdict.ALLOWED, "")


@pytest.mark.parametrize(
    ("reason", "gate"),
    [
        (StopReason.PML_RISK, "stopped-for-safety"),
        (StopReason.INFECTION, "stopped-for-safety"),
        (StopReason.ADVERSE_EVENT, "stopped-for-safety"),
        (StopReason.LACK_OF_EFFICACY, "failed"),
    ],
)
def test_drug_stopped_for_safety_or_failed_is_never_reproposed(
    reason: StopReason, gate: str
) -> None:
    """Natalizumab stopped for PML risk, infection, an adverse event or inefficacy: not proposed."""
    past = dmt("natalizumab", end=day("2024-01-01"), stop_reasons=(reason,))
    result = gate_option("natalizumab", ms(dmts=(past,)), CONFIG, TODAY)
    assert not result.allowed and result.blocking and result.blocking.gate == gate
    assert "MedicationRequest/natalizumab" in result.evidence


def test_activity_while_on_a_past_drug_is_failure() -> None:
    """A relapse while on ofatumumab (after its onset of effect): not proposed again."""
    past = dmt("ofatumumab", start="2025-01-01", end=day("2026-08-01"))
    facts = ms(dmts=(past,), relapses=(relapse("2026-05-01"),))
    gate = gate_option("ofatumumab", facts, CONFIG, TODAY)
    assert gate.blocking and "disease activity while on it" in gate.blocking.reason


def test_current_drug_and_refusal_are_not_proposed() -> None:
    """The drug the patient is on, and an option the patient declined, are left out."""
    assert _gate("ocrelizumab", dmts=(dmt("ocrelizumab"),))[1].endswith(
        "the patient is on it (record)"
    )
    declined = (Refusal(option="natalizumab", source="Consent/c1"),)
    verdict, line = _gate("natalizumab", refusals=declined)
    assert verdict is Verdict.NOT_PROPOSED and "declined" in line
    assert (
        _gate(AHSCT, refusals=(Refusal(option="ahsct", source="C/2"),))[0] is Verdict.NOT_PROPOSED
    )


def test_label_sequencing() -> None:
    """Untreated: no alemtuzumab or cladribine; one failed drug: cladribine only; one drug
    stopped for intolerance: cladribine; two failed: both."""
    for option in ("alemtuzumab", "cladribine"):
        verdict, line = _gate(option)
        assert verdict is Verdict.NOT_PROPOSED and "section 1" in line
    one = (dmt("glatiramer acetate", start="2021-02-01"),)
    facts = {"dmts": one, "relapses": (relapse("2026-05-01"),)}
    assert _gate("alemtuzumab", **facts)[0] is Verdict.NOT_PROPOSED
    assert _gate("cladribine", **facts)[0] is Verdict.ALLOWED
    intolerant = (
        dmt("teriflunomide", end=day("2023-01-01"), stop_reasons=(StopReason.ADVERSE_EVENT,)),
    )
    assert _gate("cladribine", dmts=intolerant)[0] is Verdict.ALLOWED
    two = {"dmts": TWO_FAILED, "relapses": (relapse("2026-05-01"),)}
    assert _gate("alemtuzumab", **two)[0] is Verdict.ALLOWED
    assert "inadequate response recorded to 1 MS drug," in _gate("alemtuzumab", **facts)[1]


def test_cladribine_pause_after_two_courses() -> None:
    """Two courses ended 2025-04: inside the 2-year pause; ended 2023-04: a caveat only."""
    recent = dmt("cladribine", start="2024-03-01", end=day("2025-04-01"), courses=2)
    verdict, line = _gate("cladribine", dmts=(*TWO_FAILED, recent))
    assert verdict is Verdict.NOT_PROPOSED and "inside the 2-year pause" in line
    assert "Mavenclad US label 5.1" in line
    old = dmt("cladribine", start="2022-03-01", end=day("2023-04-01"), courses=2)
    verdict, line = _gate("cladribine", dmts=(*TWO_FAILED, old))
    assert verdict is Verdict.CAVEAT and "has not been studied" in line


def test_every_note_has_a_reason_and_a_source() -> None:
    """Whatever fires, each note names its gate, a one-line reason and a source."""
    facts = ms(
        age=16,
        pregnancy=Pregnancy(state=PregnancyState.PREGNANT, matched_by="t", source="O/p"),
    )
    for option in (*FIVE, "ublituximab", AHSCT):
        for note in gate_option(option, facts, CONFIG, TODAY).notes:
            assert note.gate and note.reason and note.source and "\n" not in note.reason
