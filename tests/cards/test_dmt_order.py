"""dmtOrderCheck: pregnancy, JCV, hepatitis B and NMOSD/MOGAD checks on a DMT being
ordered, built from facts directly (the mappings that read them are filled in parallel)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from cards import registry
from cards.config import RuleConfig
from cards.decision import RuleInput
from cards.render import EXPLANATION_KEY, render_dmt_order_check
from cards.rules.dmt_order import dmt_order_check
from cds_hooks import Card, dump
from fhir_mappings.facts import (
    Certainty,
    DateSpan,
    Diagnosis,
    DmtExposure,
    DraftOrder,
    EfficacyClass,
    HbvStatus,
    JcvStatus,
    LabResult,
    Mimic,
    MimicKind,
    MsCourse,
    OrderKind,
    OrderReason,
    PatientFacts,
    Pregnancy,
    PregnancyState,
)
from tests.builders import condition, med_request
from tests.records import cards_of

TODAY = date(2026, 11, 25)
SPAN = DateSpan(earliest=date(2026, 10, 1), latest=date(2026, 10, 1), text="2026-10-01")
MS = Diagnosis(
    source="Condition/ms-1", course=MsCourse.RELAPSING_REMITTING, matched_by="snomed|24700007"
)
HBV_NEGATIVE = HbvStatus(
    hbsag=LabResult.NEGATIVE, anti_hbc=LabResult.NEGATIVE, sources=("Observation/hbv",)
)
JCV_NEGATIVE = JcvStatus(result=LabResult.NEGATIVE, source="Observation/jcv")


def order(drug: str, reason: OrderReason = OrderReason.NONE) -> DraftOrder:
    efficacy = EfficacyClass.HIGH if drug in {"ocrelizumab", "natalizumab"} else None
    return DraftOrder(
        ref="MedicationRequest/d1",
        resource_type="MedicationRequest",
        kind=OrderKind.DMT,
        dmt_ingredient=drug,
        dmt_efficacy=efficacy or EfficacyClass.PLATFORM,
        reason=reason,
        sources=("MedicationRequest/d1",),
    )


def facts(**fields: object) -> PatientFacts:
    return PatientFacts(patient_ref="Patient/p1", ms_diagnoses=(MS,), **fields)  # type: ignore[arg-type]


def cards(
    patient: PatientFacts, *orders: DraftOrder, hook: str = "order-sign", **config: object
) -> list[Card]:
    rule_config = RuleConfig(**config)  # type: ignore[arg-type]
    rule_input = RuleInput(hook=hook, facts=patient, orders=orders, config=rule_config, today=TODAY)
    return [render_dmt_order_check(d, rule_config) for d in dmt_order_check(rule_input)]


def pregnant(state: PregnancyState = PregnancyState.PREGNANT) -> Pregnancy:
    return Pregnancy(state=state, on=SPAN, matched_by="snomed|77386006", source="Observation/preg")


@pytest.mark.parametrize("drug", ["teriflunomide", "cladribine", "fingolimod", "siponimod"])
def test_contraindicated_drug_in_pregnancy_is_critical(drug: str) -> None:
    """Teriflunomide, cladribine, fingolimod (and other S1P modulators) ordered in
    pregnancy: a critical card naming pregnancy, the label, and removing the draft."""
    (card,) = cards(facts(pregnancy=pregnant()), order(drug))
    assert card.indicator == "critical"
    assert card.summary.startswith(drug.capitalize() + " ordered for a pregnant patient")
    assert card.detail and "Observation/preg" in card.detail and "pregnan" in card.detail
    (remove,) = card.suggestions or []
    assert [(a.type, a.resourceId) for a in remove.actions or []] == [
        ("delete", "MedicationRequest/d1")
    ]
    assert card.selectionBehavior == "any"


def test_planned_pregnancy_is_a_warning_with_the_contraception_window() -> None:
    """Cladribine ordered while a pregnancy is planned: a warning with the 6-month window."""
    (card,) = cards(facts(pregnancy=pregnant(PregnancyState.PLANNED)), order("cladribine"))
    assert card.indicator == "warning" and card.detail and "6 months" in card.detail


def test_not_pregnant_or_a_drug_without_a_pregnancy_contraindication_gives_no_card() -> None:
    """Not pregnant, or glatiramer ordered in pregnancy: no pregnancy card."""
    assert cards(facts(pregnancy=pregnant(PregnancyState.NOT_PREGNANT)), order("cladribine")) == []
    assert cards(facts(pregnancy=pregnant()), order("glatiramer acetate")) == []


@pytest.mark.parametrize(
    ("jcv", "warned"),
    [
        (None, "jcvUnknown"),
        (JcvStatus(result=LabResult.INDETERMINATE, source="Observation/j"), "jcvUnknown"),
        (JcvStatus(result=LabResult.POSITIVE, source="Observation/j"), "jcvPositiveNoIndex"),
        (JcvStatus(result=LabResult.POSITIVE, index=2.1, source="Observation/j"), "jcvHigh"),
        (JcvStatus(result=LabResult.POSITIVE, index=0.4, source="Observation/j"), None),
        (JCV_NEGATIVE, None),
    ],
)
def test_natalizumab_jcv_check(jcv: JcvStatus | None, warned: str | None) -> None:
    """Natalizumab: no or indeterminate JCV result, positive without index, or an index
    above the threshold -> a warning; a low index or a negative result -> nothing."""
    found = cards(facts(jcv=jcv), order("natalizumab"))
    if warned is None:
        assert found == []
        return
    (card,) = found
    assert card.indicator == "warning"
    explained = (card.extension or {})[EXPLANATION_KEY]
    assert [c["check"] for c in explained["facts"]["checks"]] == [warned]


def test_jcv_index_threshold_is_a_setting() -> None:
    """An index of 1.0 warns only when the site's threshold is below it (e.g. AAN's 0.9)."""
    jcv = JcvStatus(result=LabResult.POSITIVE, index=1.0, source="Observation/j")
    assert cards(facts(jcv=jcv), order("natalizumab")) == []
    (card,) = cards(facts(jcv=jcv), order("natalizumab"), natalizumab_jcv_max_index=0.9)
    assert card.detail and "index 1.0" in card.detail and "0.9" in card.detail


@pytest.mark.parametrize("drug", ["ocrelizumab", "ofatumumab", "ublituximab", "rituximab"])
def test_anti_cd20_with_hbsag_positive_is_critical(drug: str) -> None:
    """An anti-CD20 ordered with HBsAg positive: critical (active HBV contraindicated)."""
    hbv = HbvStatus(hbsag=LabResult.POSITIVE, sources=("Observation/hbsag",))
    (card,) = cards(facts(hbv=hbv), order(drug))
    assert card.indicator == "critical" and "HBsAg positive" in card.summary


def test_anti_cd20_without_hbv_result_warns_and_anti_hbc_positive_warns() -> None:
    """No HBsAg result -> screen first; HBsAg negative, anti-HBc positive -> liver specialist;
    both negative -> nothing."""
    (unknown,) = cards(facts(), order("ocrelizumab"))
    assert unknown.indicator == "warning" and "no hepatitis B result" in unknown.summary
    core = HbvStatus(hbsag=LabResult.NEGATIVE, anti_hbc=LabResult.POSITIVE, sources=("O/h",))
    (card,) = cards(facts(hbv=core), order("ofatumumab"))
    assert card.indicator == "warning" and "liver" in card.summary
    assert cards(facts(hbv=HBV_NEGATIVE), order("ocrelizumab")) == []


def test_continuing_an_anti_cd20_without_a_recorded_hbv_result_is_not_flagged() -> None:
    """The labels ask for HBV screening before initiating: a re-dose order for a patient
    already on the drug is not asked for it again (HBsAg positive still is)."""
    on_it = DmtExposure(
        ingredient="ocrelizumab",
        efficacy=EfficacyClass.HIGH,
        matched_by="rxnorm|1876366",
        current=True,
        sources=("MedicationRequest/ocr",),
    )
    assert cards(facts(dmts=(on_it,)), order("ocrelizumab")) == []
    hbv = HbvStatus(hbsag=LabResult.POSITIVE, sources=("Observation/hbsag",))
    assert [c.indicator for c in cards(facts(dmts=(on_it,), hbv=hbv), order("ocrelizumab"))] == [
        "critical"
    ]


@pytest.mark.parametrize("kind", [MimicKind.NMOSD, MimicKind.MOGAD])
def test_ms_dmt_for_nmosd_or_mogad_warns(kind: MimicKind) -> None:
    """An MS DMT ordered while the record holds NMOSD or MOGAD (beside MS): a warning that
    cites the NMO evidence; rituximab is exempt."""
    mimic = Mimic(kind=kind, matched_by="snomed|x", source="Condition/nmo")
    (card,) = cards(facts(mimics=(mimic,)), order("interferon beta-1a"))
    assert card.indicator == "warning" and str(kind).upper() in card.summary
    assert card.detail and "10.1007/s11940-015-0378-x" in card.detail
    assert "Condition/nmo" in card.detail
    assert cards(facts(mimics=(mimic,), hbv=HBV_NEGATIVE), order("rituximab")) == []


def test_unconfirmed_nmosd_is_named_as_such() -> None:
    """A provisional NMOSD diagnosis still warns and says it is unconfirmed."""
    mimic = Mimic(
        kind=MimicKind.NMOSD,
        certainty=Certainty.UNCONFIRMED,
        matched_by="text /nmosd/",
        source="Condition/n",
    )
    (card,) = cards(facts(mimics=(mimic,)), order("fingolimod"))
    assert card.detail and "unconfirmed" in card.detail


def test_several_findings_make_one_card_at_the_worst_indicator() -> None:
    """Fingolimod in pregnancy for a patient with NMOSD: one critical card, both findings."""
    mimic = Mimic(kind=MimicKind.NMOSD, matched_by="snomed|x", source="Condition/nmo")
    (card,) = cards(facts(pregnancy=pregnant(), mimics=(mimic,)), order("fingolimod"))
    assert card.indicator == "critical" and "pregnant" in card.summary
    explained = (card.extension or {})[EXPLANATION_KEY]
    assert [c["check"] for c in explained["facts"]["checks"]] == ["pregnant", "nmosd"]
    assert {"Observation/preg", "Condition/nmo", "MedicationRequest/d1"} <= set(
        explained["resources"]
    )


def test_non_ms_reason_patient_view_and_non_dmt_orders_are_not_checked() -> None:
    """Rituximab for lymphoma, any check at patient-view, and a non-DMT order: no card."""
    assert cards(facts(), order("rituximab", OrderReason.NON_MS)) == []
    assert cards(facts(), order("ocrelizumab"), hook="patient-view") == []
    other = DraftOrder(
        ref="MedicationRequest/x", resource_type="MedicationRequest", kind=OrderKind.OTHER
    )
    assert cards(facts(), other) == []


def test_card_has_no_empty_value_and_a_short_summary() -> None:
    """Every finding's card validates (summary < 140) and serialises without empties."""
    mimic = Mimic(kind=MimicKind.MOGAD, matched_by="snomed|x", source="Condition/m")
    patient = facts(pregnancy=pregnant(), mimics=(mimic,))
    for drug in ("dimethyl fumarate", "teriflunomide", "ocrelizumab", "natalizumab"):
        for card in cards(patient, order(drug)):
            body = dump(card)
            assert len(card.summary) < 140
            assert "[]" not in str(body) and "None" not in str(body) and "{}" not in str(body)


def test_end_to_end_orders_without_hbv_or_jcv_results_are_checked() -> None:
    """Through the engine from FHIR: an Ocrevus or Tysabri order for MS, in a record with no
    HBV or JCV result, gets the matching dmtOrderCheck warning at both order hooks."""
    ms = condition("ms-1", "426373005", onsetDateTime="2019-03-01")
    for hook in ("order-select", "order-sign"):
        ocr = cards_of(hook, ms, drafts=[med_request("d1", "Ocrevus 300 mg IV")])
        nat = cards_of(hook, ms, drafts=[med_request("d1", "Tysabri 300 mg IV")])
        assert [(c.topic, c.indicator) for c in ocr] == [("dmtOrderCheck", "warning")]
        assert "hepatitis B" in ocr[0].summary
        assert [(c.topic, c.indicator) for c in nat] == [("dmtOrderCheck", "warning")]
        assert "anti-JCV" in nat[0].summary


def test_registry_refuses_check_content_naming_an_unknown_drug(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A drug name in the check content that the DMT value set lacks stops start-up."""
    real = registry.content

    def mistyped(topic: str) -> dict[str, Any]:
        data = real(topic)
        return {**data, "anti_cd20": ["ocrelizumabb"]} if topic == "dmtOrderCheck" else data

    monkeypatch.setattr(registry, "content", mistyped)
    with pytest.raises(registry.RegistryError, match="ocrelizumabb"):
        registry.check_registry()
