"""DMT exposures from MedicationRequest/MedicationStatement."""

from __future__ import annotations

from datetime import date

import pytest

from fhir_mappings.config import MappingConfig
from fhir_mappings.facts import EfficacyClass, StopReason
from tests.records import ATC, RXNORM, facts_of, rx, statement


@pytest.mark.parametrize(
    ("text", "code", "system", "ingredient", "efficacy"),
    [
        (None, "1876366", RXNORM, "ocrelizumab", EfficacyClass.HIGH),  # ingredient RxCUI
        (None, "1876381", RXNORM, "ocrelizumab", EfficacyClass.HIGH),  # Ocrevus brand RxCUI
        (None, "L04AG03", ATC, "natalizumab", EfficacyClass.HIGH),
        (None, "214582", RXNORM, "glatiramer acetate", EfficacyClass.PLATFORM),  # conflict
        (None, "84375", RXNORM, "glatiramer acetate", EfficacyClass.PLATFORM),
        ("Ocrevus Zunovo 920 mg/23 mL SC", None, RXNORM, "ocrelizumab", EfficacyClass.HIGH),
        ("Kesimpta 20 mg pen", None, RXNORM, "ofatumumab", EfficacyClass.HIGH),
        ("Plegridy 125 mcg", None, RXNORM, "peginterferon beta-1a", EfficacyClass.PLATFORM),
        ("interferon beta-1a 30 mcg", None, RXNORM, "interferon beta-1a", EfficacyClass.PLATFORM),
        ("Tecfidera 240 mg", None, RXNORM, "dimethyl fumarate", EfficacyClass.PLATFORM),
        ("Vumerity", None, RXNORM, "diroximel fumarate", EfficacyClass.PLATFORM),
        ("Mavenclad 10 mg", None, RXNORM, "cladribine", EfficacyClass.HIGH),
        (
            "teriflunomide 14 MG Oral Tablet",
            "999999",
            RXNORM,
            "teriflunomide",
            EfficacyClass.PLATFORM,
        ),
    ],
)
def test_dmt_recognised_by_code_brand_atc_or_text(
    text: str | None, code: str | None, system: str, ingredient: str, efficacy: EfficacyClass
) -> None:
    """RxNorm ingredient/brand codes, ATC, and ingredient or brand names in text name a DMT."""
    facts = facts_of(rx("m", text, code, system))
    assert [(d.ingredient, d.efficacy) for d in facts.dmts] == [(ingredient, efficacy)]
    assert facts.dmts[0].sources == ("MedicationRequest/m",)


def test_code_wins_over_text() -> None:
    """A natalizumab RxCUI with a misleading display is natalizumab."""
    facts = facts_of(rx("m", "fingolimod", "354770"))
    assert facts.dmts[0].ingredient == "natalizumab"
    assert facts.dmts[0].matched_by == f"{RXNORM}|354770"


@pytest.mark.parametrize(
    ("s1p_class", "expected"),
    [(EfficacyClass.PLATFORM, EfficacyClass.PLATFORM), (EfficacyClass.HIGH, EfficacyClass.HIGH)],
)
def test_s1p_class_is_a_setting(s1p_class: EfficacyClass, expected: EfficacyClass) -> None:
    """Fingolimod's efficacy class follows MappingConfig.s1p_class."""
    facts = facts_of(rx("m", "Gilenya 0.5 mg"), config=MappingConfig(s1p_class=s1p_class))
    assert facts.dmts[0].ingredient == "fingolimod"
    assert facts.dmts[0].efficacy is expected


def test_statement_period_status_and_stop_reason() -> None:
    """A completed MedicationStatement gives start, end, not current, and the stop reason."""
    facts = facts_of(
        statement(
            "s1",
            "natalizumab",
            status="completed",
            start="2020-02",
            end="2023-05-01",
            statusReason=[{"text": "Stopped for lack of efficacy"}],
        )
    )
    (dmt,) = facts.dmts
    assert dmt.current is False
    assert dmt.start is not None and dmt.start.text == "2020-02"
    assert dmt.end is not None and dmt.end.earliest == date(2023, 5, 1)
    assert dmt.stop_reason is StopReason.LACK_OF_EFFICACY


def test_other_stop_reason_is_not_lack_of_efficacy() -> None:
    """A stop for PML risk is recorded as its category, never lack of efficacy, never text."""
    facts = facts_of(
        rx("m", "Tysabri", status="stopped", statusReason={"text": "JCV positive, PML risk"})
    )
    assert facts.dmts[0].stop_reason is StopReason.PML_RISK
    assert facts.dmts[0].stop_reasons == (StopReason.PML_RISK,)
    assert "JCV" not in facts.model_dump_json()


def test_uncategorised_stop_reason_is_other() -> None:
    """A stated reason that names no category is 'other'."""
    facts = facts_of(rx("m", "Tysabri", status="stopped", statusReason={"text": "moved away"}))
    assert facts.dmts[0].stop_reasons == (StopReason.OTHER,)


def test_request_start_from_bounds_period_and_merging() -> None:
    """Records of one ingredient merge: earliest start, current if any is current."""
    facts = facts_of(
        rx("m1", "ocrelizumab", status="completed", start="2022-03-01"),
        rx(
            "m2",
            "ocrelizumab",
            status="active",
            start="2025-01-01",
            dosageInstruction=[{"timing": {"repeat": {"boundsPeriod": {"start": "2024-12-20"}}}}],
        ),
    )
    (dmt,) = facts.dmts
    assert dmt.start is not None and dmt.start.earliest == date(2022, 3, 1)
    assert dmt.current is True and dmt.end is None
    assert dmt.sources == ("MedicationRequest/m1", "MedicationRequest/m2")


@pytest.mark.parametrize(
    "resource",
    [
        rx("m", "ocrelizumab", status="cancelled"),
        rx("m", "ocrelizumab", status="entered-in-error"),
        rx("m", "ocrelizumab", intent="proposal"),
        statement("s", "ocrelizumab", status="not-taken"),
        statement("s", "ocrelizumab", status="intended"),
        rx("m", "vitamin D3 1000 IU"),
    ],
)
def test_not_an_exposure(resource: dict[str, object]) -> None:
    """Cancelled, erroneous, proposed, not-taken, intended and non-DMT records are no exposure."""
    assert facts_of(resource).dmts == ()


def test_medication_reference_to_contained_medication() -> None:
    """A contained Medication coded with an RxNorm ingredient is read."""
    resource = rx(
        "m",
        contained=[
            {
                "resourceType": "Medication",
                "id": "med",
                "code": {"coding": [{"system": RXNORM, "code": "1310520"}]},
            }
        ],
        medicationReference={"reference": "#med"},
    )
    del resource["medicationCodeableConcept"]
    assert [d.ingredient for d in facts_of(resource).dmts] == ["teriflunomide"]
