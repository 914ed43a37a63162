"""Patient state: deceased, pregnancy (Conditions, pregnancy status, hCG, intention),
anti-JCV antibody status and index, HBV serology; each dated, naming its source."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from fhir_mappings.build import PatientRecord, read_patient
from fhir_mappings.facts import Deceased, LabResult, PregnancyState
from tests.builders import ICD10CM, PATIENT_ID, condition
from tests.conftest import TODAY
from tests.records import facts_of, observation

LOINC = "http://loinc.org"
SCT = "http://snomed.info/sct"
INTERP = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"


def _coded(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def _deceased(patient: dict[str, Any]) -> Deceased | None:
    return read_patient(PatientRecord(PATIENT_ID, {"patient": patient}), TODAY).deceased


def _lab(oid: str, code: str | None, when: str, text: str | None = None, **value: Any) -> Any:
    return observation(oid, text, code, system=LOINC, when=when, **value)


# --- deceased -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "dated"),
    [
        ({"deceasedBoolean": True}, None),
        ({"deceasedDateTime": "2026-10-01T10:00:00Z"}, "2026-10-01"),
    ],
)
def test_deceased_patient(extra: dict[str, Any], dated: str | None) -> None:
    """deceasedBoolean true or a deceasedDateTime: the patient has died (dated when known)."""
    patient = {"resourceType": "Patient", "id": PATIENT_ID, "birthDate": "1990-04-12", **extra}
    deceased = _deceased(patient)
    assert deceased is not None and deceased.source == f"Patient/{PATIENT_ID}"
    assert (deceased.on.text if deceased.on else None) == dated


@pytest.mark.parametrize("extra", [{}, {"deceasedBoolean": False}, {"deceasedBoolean": "true"}])
def test_living_patient(extra: dict[str, Any]) -> None:
    """No deceased element, false, or a string "true" (not a boolean): not deceased."""
    patient = {"resourceType": "Patient", "id": PATIENT_ID, "birthDate": "1990-04-12", **extra}
    assert _deceased(patient) is None


# --- pregnancy ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource", "state", "matched_by"),
    [
        (
            condition("p", "77386006", onsetDateTime="2026-08-01"),
            PregnancyState.PREGNANT,
            f"{SCT}|77386006",
        ),
        (
            condition("p", "Z33.1", system=ICD10CM, recordedDate="2026-09-01"),
            PregnancyState.PREGNANT,
            f"{ICD10CM}|Z33.1",
        ),
        (
            condition("p", "O09.90", system=ICD10CM, recordedDate="2026-09-01"),
            PregnancyState.PREGNANT,
            f"{ICD10CM}|O09.90",
        ),
        (
            condition("p", "Z34.01", system=ICD10CM, recordedDate="2026-09-01"),
            PregnancyState.PREGNANT,
            f"{ICD10CM}|Z34.01",
        ),
        (
            _lab("p", "82810-3", "2026-10-01", valueCodeableConcept=_coded(LOINC, "LA15173-0")),
            PregnancyState.PREGNANT,
            f"{LOINC}|82810-3",
        ),
        (
            _lab("p", "82810-3", "2026-10-01", valueCodeableConcept=_coded(SCT, "60001007")),
            PregnancyState.NOT_PREGNANT,
            f"{LOINC}|82810-3",
        ),
        (
            _lab("p", "2106-3", "2026-10-01", valueCodeableConcept={"text": "Positive"}),
            PregnancyState.PREGNANT,
            f"{LOINC}|2106-3",
        ),
        (
            _lab(
                "p",
                "21198-7",
                "2026-10-01",
                valueQuantity={"value": 5000},
                interpretation=[_coded(INTERP, "POS")],
            ),
            PregnancyState.PREGNANT,
            f"{LOINC}|21198-7",
        ),
        (
            _lab("p", "86645-9", "2026-10-01", valueCodeableConcept=_coded(LOINC, "LA26438-4")),
            PregnancyState.PLANNED,
            f"{LOINC}|86645-9",
        ),
        (
            condition("p", text="Planning pregnancy", recordedDate="2026-09-01"),
            PregnancyState.PLANNED,
            "text",
        ),
    ],
)
def test_pregnancy_sources(
    resource: dict[str, Any], state: PregnancyState, matched_by: str
) -> None:
    """Pregnancy Conditions (SNOMED, Z33.1, O and Z34 codes), pregnancy status 82810-3,
    a positive hCG, a quantitative hCG read as POS, and a recorded pregnancy intention."""
    facts = facts_of(resource)
    assert facts.pregnancy is not None
    assert (facts.pregnancy.state, facts.pregnancy.matched_by) == (state, matched_by)
    assert facts.pregnancy.source.endswith("/p")


@pytest.mark.parametrize(
    "resource",
    [
        condition("p", "Z33.2", system=ICD10CM, recordedDate="2026-09-01"),  # elective termination
        condition("p", "O03.9", system=ICD10CM, recordedDate="2026-09-01"),  # abortive outcome
        condition("p", "77386006", clinical="resolved", onsetDateTime="2026-01-01"),
        _lab("p", "2106-3", "2025-11-01", valueString="positive"),  # more than 9 months ago
        _lab("p", "21198-7", "2026-10-01", valueQuantity={"value": 5000}),  # no interpretation
    ],
)
def test_not_pregnancy_evidence(resource: dict[str, Any]) -> None:
    """Termination (Z33.2), an abortive outcome, a resolved pregnancy, an hCG older than
    9 months and a bare quantitative hCG say nothing about a current pregnancy."""
    facts = facts_of(resource)
    assert facts.pregnancy is None or facts.pregnancy.state is not PregnancyState.PREGNANT


def test_latest_pregnancy_evidence_wins() -> None:
    """A positive hCG in June, then pregnancy status 'not pregnant' in October: not pregnant."""
    facts = facts_of(
        _lab("hcg", "2106-3", "2026-06-01", valueString="Positive"),
        _lab("st", "82810-3", "2026-10-01", valueCodeableConcept=_coded(LOINC, "LA26683-5")),
    )
    assert facts.pregnancy is not None
    assert facts.pregnancy.state is PregnancyState.NOT_PREGNANT
    assert facts.pregnancy.source == "Observation/st"
    assert facts.pregnancy.on is not None and facts.pregnancy.on.earliest == date(2026, 10, 1)


# --- JCV ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("index", "result"),
    [
        (0.15, LabResult.NEGATIVE),
        (0.30, LabResult.INDETERMINATE),
        (0.40, LabResult.INDETERMINATE),
        (1.8, LabResult.POSITIVE),
    ],
)
def test_jcv_index_alone_is_read_by_the_assay_cutoffs(index: float, result: LabResult) -> None:
    """An index (LOINC 100977-8) alone: <0.20 negative, 0.20-0.40 indeterminate, >0.40 positive."""
    facts = facts_of(_lab("jcv-i", "100977-8", "2026-05-01", valueQuantity={"value": index}))
    assert facts.jcv is not None
    assert (facts.jcv.result, facts.jcv.index, facts.jcv.source) == (
        result,
        index,
        "Observation/jcv-i",
    )


def test_jcv_result_with_its_index_and_latest_wins() -> None:
    """The latest antibody result (LOINC 70173-0) carries the same day's index; an older
    negative result does not count."""
    facts = facts_of(
        _lab("old", "70173-0", "2024-01-10", valueString="Negative"),
        _lab("ab", "70173-0", "2026-05-01", valueCodeableConcept=_coded(SCT, "10828004")),
        _lab("ix", "100977-8", "2026-05-01", valueQuantity={"value": 2.1}),
    )
    assert facts.jcv is not None
    assert (facts.jcv.result, facts.jcv.index, facts.jcv.source) == (
        LabResult.POSITIVE,
        2.1,
        "Observation/ab",
    )
    assert facts.jcv.on is not None and facts.jcv.on.text == "2026-05-01"


def test_jcv_text_and_panel_component() -> None:
    """A 'STRATIFY JCV' panel with result and index components is read as one result."""
    panel = observation(
        "panel",
        "STRATIFY JCV DxSelect Antibody (with Index)",
        when="2026-03-03",
        component=[
            {"code": {"coding": [{"system": LOINC, "code": "70173-0"}]}, "valueString": "Positive"},
            {
                "code": {"coding": [{"system": LOINC, "code": "100977-8"}]},
                "valueQuantity": {"value": 0.9},
            },
        ],
    )
    facts = facts_of(panel)
    assert facts.jcv is not None
    assert (facts.jcv.result, facts.jcv.index) == (LabResult.POSITIVE, 0.9)


def test_jcv_pcr_is_not_the_antibody() -> None:
    """JC virus DNA by PCR (LOINC 42921-7) is not an antibody result."""
    facts = facts_of(
        _lab("pcr", "42921-7", "2026-05-01", "JC virus DNA by PCR", valueString="Detected")
    )
    assert facts.jcv is None


# --- HBV ------------------------------------------------------------------------


def test_hbv_serology_latest_of_each_test() -> None:
    """HBsAg (5196-1) and anti-HBc total (16933-4), each the latest, dated by the latest."""
    facts = facts_of(
        _lab("s1", "5196-1", "2023-01-01", valueString="Reactive"),
        _lab("s2", "5196-1", "2026-02-01", valueString="Non-reactive"),
        _lab("c1", "16933-4", "2026-01-15", interpretation=[_coded(INTERP, "POS")]),
    )
    assert facts.hbv is not None
    assert (facts.hbv.hbsag, facts.hbv.anti_hbc) == (LabResult.NEGATIVE, LabResult.POSITIVE)
    assert facts.hbv.on is not None and facts.hbv.on.text == "2026-02-01"
    assert set(facts.hbv.sources) == {"Observation/s2", "Observation/c1"}


@pytest.mark.parametrize(
    ("code", "text", "field"),
    [
        ("5195-3", None, "hbsag"),
        ("75410-1", None, "hbsag"),
        (None, "Hepatitis B core antibody total", "anti_hbc"),
    ],
)
def test_hbv_each_code_and_text(code: str | None, text: str | None, field: str) -> None:
    """Other HBsAg LOINCs and anti-HBc by text are read too."""
    facts = facts_of(_lab("h", code, "2026-02-01", text, valueString="Negative"))
    assert facts.hbv is not None and getattr(facts.hbv, field) is LabResult.NEGATIVE


def test_entered_in_error_lab_is_ignored() -> None:
    """An entered-in-error HBsAg result is not read."""
    facts = facts_of(
        _lab("h", "5196-1", "2026-02-01", valueString="Reactive", status="entered-in-error")
    )
    assert facts.hbv is None
