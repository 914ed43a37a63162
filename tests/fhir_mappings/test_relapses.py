"""Relapses: Condition wording variants, relapse visits (Encounter reasons), high-dose
steroid courses as supporting evidence; pseudo-relapses never count."""

from __future__ import annotations

from typing import Any

import pytest

from fhir_mappings.build import PatientRecord, read_patient
from fhir_mappings.facts import RelapseBasis
from tests.builders import PATIENT_ID, condition
from tests.conftest import TODAY
from tests.records import RXNORM, SUBJECT, concept, facts_of, prefetch_of, relapse, rx


def encounter(eid: str, reason: str | None, start: str = "2026-04-02", **extra: Any) -> Any:
    resource: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": eid,
        "status": "finished",
        "class": {"code": "AMB"},
        "subject": SUBJECT,
        "period": {"start": start},
        **extra,
    }
    if reason:
        resource["reasonCode"] = [{"text": reason}]
    return resource


def steroid(mid: str, when: str, dose: float, unit: str = "mg", **extra: Any) -> Any:
    return rx(
        mid,
        "methylprednisolone",
        "6902",
        system=RXNORM,
        start=when,
        dosageInstruction=[{"doseAndRate": [{"doseQuantity": {"value": dose, "unit": unit}}]}],
        **extra,
    )


@pytest.mark.parametrize(
    "text",
    [
        "Acute relapse of relapsing-remitting multiple sclerosis",
        "MS exacerbation",
        "Multiple sclerosis flare",
        "Flare-up of her MS",
    ],
)
def test_condition_wording_variants_are_relapses(text: str) -> None:
    """Relapse wording variants in a Condition are relapses dated by their onset."""
    facts = facts_of(condition("r", text=text, onsetDateTime="2026-04-01"))
    assert [(r.source, r.basis) for r in facts.relapses] == [
        ("Condition/r", RelapseBasis.CONDITION)
    ]


def test_relapse_text_is_not_a_disease_onset() -> None:
    """'Acute relapse of RRMS' with an onset dates the relapse, never the disease onset."""
    facts = facts_of(
        condition("dx", "426373005", onsetDateTime="2019-01-01"),
        condition(
            "r",
            text="Acute relapse of relapsing-remitting multiple sclerosis",
            onsetDateTime="2018-01-01",
        ),
    )
    assert facts.onset is not None and facts.onset.basis.value == "relapse"
    assert [d.source for d in facts.ms_diagnoses if not d.relapse] == ["Condition/dx"]


@pytest.mark.parametrize(
    "text",
    [
        "MS pseudo-relapse",
        "Pseudoexacerbation of multiple sclerosis",
        "MS exacerbation due to UTI",
        "MS relapse in the setting of fever",
        "Multiple sclerosis exacerbation with a urinary tract infection",
        "Uhthoff phenomenon, MS flare with heat",
        "Gout flare",
    ],
)
def test_pseudo_relapses_and_other_flares_are_not_relapses(text: str) -> None:
    """Pseudo-relapses (infection, fever, heat, Uhthoff) and non-MS flares are no Relapse."""
    assert facts_of(condition("r", text=text, onsetDateTime="2026-04-01")).relapses == ()


def test_relapse_without_infection_is_a_relapse() -> None:
    """'no sign of infection' is not a pseudo-relapse trigger."""
    facts = facts_of(
        condition("r", text="MS relapse, no sign of infection", onsetDateTime="2026-04-01")
    )
    assert len(facts.relapses) == 1


def test_relapse_visit_from_encounter_reason() -> None:
    """An Encounter whose reasonCode states an MS relapse is a relapse dated by the visit."""
    facts = facts_of(encounter("e1", "Relapse of multiple sclerosis", "2026-04-02"))
    assert [(r.source, r.basis) for r in facts.relapses] == [
        ("Encounter/e1", RelapseBasis.ENCOUNTER)
    ]
    assert facts.relapses[0].on is not None and facts.relapses[0].on.text == "2026-04-02"


@pytest.mark.parametrize(
    "resource",
    [
        encounter("e1", "MS pseudo-relapse with UTI"),
        encounter("e1", "Relapse of multiple sclerosis", status="cancelled"),
        encounter("e1", "Relapse of multiple sclerosis", status="planned"),
        encounter("e1", "Routine MS follow-up"),
        encounter("e1", None),
    ],
)
def test_encounters_that_are_no_relapse(resource: dict[str, Any]) -> None:
    """Pseudo-relapse reasons, cancelled or planned visits and other reasons are no relapse."""
    assert facts_of(resource).relapses == ()


def test_visit_for_a_recorded_relapse_counts_once() -> None:
    """A relapse Condition and a visit for it 10 days later are one relapse (the Condition);
    a visit three months later is another."""
    facts = facts_of(
        relapse("r1", "2026-03-20"),
        encounter("e1", "MS relapse", "2026-03-30"),
        encounter("e2", "MS relapse", "2026-06-30"),
    )
    assert [r.source for r in facts.relapses] == ["Condition/r1", "Encounter/e2"]


@pytest.mark.parametrize(
    ("dose", "unit", "when", "supports"),
    [
        (1, "g", "2026-03-22", True),
        (1000, "mg", "2026-04-02", True),
        (500, "mg", "2026-03-21", True),
        (100, "mg", "2026-03-22", False),  # premedication dose
        (1000, "mg", "2026-05-30", False),  # outside 14 days of onset
        (1000, "mg", "2026-03-10", False),  # before the onset
    ],
)
def test_high_dose_steroid_course_supports_a_relapse(
    dose: float, unit: str, when: str, supports: bool
) -> None:
    """Methylprednisolone >= 500 mg/day within 14 days of onset supports the relapse."""
    facts = facts_of(relapse("r1", "2026-03-20"), steroid("mp", when, dose, unit))
    assert len(facts.relapses) == 1
    assert facts.relapses[0].steroid_sources == (("MedicationRequest/mp",) if supports else ())


def test_steroid_course_alone_is_no_relapse_and_premedication_never_supports() -> None:
    """A steroid course without a relapse is no relapse; one marked as premedication, or
    given on the days of an alemtuzumab course, does not support one."""
    assert facts_of(steroid("mp", "2026-03-22", 1000)).relapses == ()
    premed = steroid("mp", "2026-03-22", 1000, note=[{"text": "x"}])
    premed["dosageInstruction"][0]["text"] = "premedication before infusion"
    lemtrada = rx("alem", "alemtuzumab", start="2026-03-21")
    course = steroid("mp2", "2026-03-23", 1000)
    facts = facts_of(relapse("r1", "2026-03-20"), premed, lemtrada, course)
    assert facts.relapses[0].steroid_sources == ()


def test_steroid_from_medication_administration_text_dose() -> None:
    """A MedicationAdministration of 'methylprednisolone 1 g IV' supports the relapse."""
    administration = {
        "resourceType": "MedicationAdministration",
        "id": "ma",
        "status": "completed",
        "subject": SUBJECT,
        "medicationCodeableConcept": concept("Methylprednisolone 1 g IV"),
        "effectiveDateTime": "2026-03-21T09:00:00Z",
    }
    prefetch = prefetch_of(relapse("r1", "2026-03-20"))
    prefetch["administrations"] = {
        "resourceType": "Bundle",
        "entry": [{"resource": administration}],
    }
    facts = read_patient(PatientRecord(PATIENT_ID, prefetch), TODAY)
    assert facts.relapses[0].steroid_sources == ("MedicationAdministration/ma",)
