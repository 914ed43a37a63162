"""History: prior HSCT from the problem list and procedures (never MSC), disease onset
from the earliest of onset, diagnosis, DMT start and relapse (recordedDate a lower bound
only), and duplicate resources counted once."""

from __future__ import annotations

from typing import Any

import pytest

from fhir_mappings.build import PatientRecord, read_patient
from fhir_mappings.facts import OnsetBasis
from tests.builders import ICD10CM, PATIENT_ID, bundle, condition
from tests.conftest import TODAY
from tests.records import facts_of, prefetch_of, procedure, relapse, rx

ICD10GM = "http://fhir.de/CodeSystem/bfarm/icd-10-gm"
ASSERTED = "http://hl7.org/fhir/StructureDefinition/condition-assertedDate"


@pytest.mark.parametrize(
    ("resource", "matched_by", "autologous"),
    [
        (condition("h", "Z94.84", system=ICD10CM, clinical="resolved"), f"{ICD10CM}|Z94.84", None),
        (condition("h", "Z94.81", system=ICD10CM), f"{ICD10CM}|Z94.81", None),
        (condition("h", "Z94.80", system=ICD10GM), f"{ICD10GM}|Z94.80", None),
        (condition("h", "2631000119108"), "http://snomed.info/sct|2631000119108", None),
        (condition("h", text="History of autologous stem cell transplant for MS"), "text", True),
        (condition("h", text="s/p AHSCT 2019"), "text", True),
    ],
)
def test_prior_hsct_from_the_problem_list(
    resource: dict[str, Any], matched_by: str, autologous: bool | None
) -> None:
    """Z94.84 / Z94.81 (ICD-10-CM), Z94.80 (ICD-10-GM), SNOMED history codes and history
    wording are a prior HSCT; autologous only when the record says so."""
    facts = facts_of(resource)
    assert [(p.source, p.matched_by, p.autologous) for p in facts.prior_ahsct] == [
        ("Condition/h", matched_by, autologous)
    ]


@pytest.mark.parametrize(
    "resource",
    [
        condition("h", text="Referral for AHSCT evaluation"),
        condition("h", text="History of mesenchymal stem cell transplant"),
        condition("h", text="History of allogeneic bone marrow transplant"),
        condition("h", "Z94.84", system=ICD10CM, verification="entered-in-error"),
        procedure("p", "Autologous mesenchymal stem cell transplant"),
        procedure("p", "MSC infusion"),
    ],
)
def test_no_prior_ahsct(resource: dict[str, Any]) -> None:
    """A referral, an MSC (mesenchymal) or allogeneic transplant and an entry in error are
    never a prior AHSCT."""
    assert facts_of(resource).prior_ahsct == ()


def test_procedure_text_autologous_stem_cell_transplant() -> None:
    """Procedure text 'autologous stem cell transplant' is a prior AHSCT, autologous."""
    facts = facts_of(procedure("p", "Autologous stem cell transplant"))
    assert [(p.source, p.autologous) for p in facts.prior_ahsct] == [("Procedure/p", True)]


def _ms(**extra: Any) -> dict[str, Any]:
    return condition("ms", "426373005", **extra)


@pytest.mark.parametrize(
    ("resources", "basis", "text", "lower"),
    [
        (
            [_ms(onsetDateTime="2015-03-01"), rx("d", "ocrelizumab", start="2013-01-01")],
            OnsetBasis.DMT_START,
            "2013-01-01",
            False,
        ),
        (
            [_ms(onsetDateTime="2015-03-01"), relapse("r", "2014-06-01")],
            OnsetBasis.RELAPSE,
            "2014-06-01",
            False,
        ),
        (
            [
                _ms(
                    extension=[{"url": ASSERTED, "valueDateTime": "2012-02-02"}],
                    recordedDate="2020-01-01",
                )
            ],
            OnsetBasis.DIAGNOSIS,
            "2012-02-02",
            False,
        ),
        (
            [_ms(recordedDate="2020-01-01"), rx("d", "ocrelizumab", start="2018-01-01")],
            OnsetBasis.DMT_START,
            "2018-01-01",
            False,
        ),
        (
            [_ms(recordedDate="2017-01-01"), rx("d", "ocrelizumab", start="2018-01-01")],
            OnsetBasis.RECORDED_DATE,
            "2017-01-01",
            True,
        ),
        (
            [_ms(onsetDateTime="2011-05-05", recordedDate="2011-05-05")],
            OnsetBasis.ONSET,
            "2011-05-05",
            False,
        ),
    ],
)
def test_onset_is_the_earliest_evidence(
    resources: list[dict[str, Any]], basis: OnsetBasis, text: str, lower: bool
) -> None:
    """The earliest of onset, diagnosis (assertedDate), DMT start and relapse dates the
    disease; a recordedDate only when it is the earliest, and then as a lower bound."""
    facts = facts_of(*resources)
    assert facts.onset is not None
    assert (facts.onset.basis, facts.onset.span.text, facts.onset.lower_bound_only) == (
        basis,
        text,
        lower,
    )


def test_no_ms_no_onset() -> None:
    """A DMT start without any MS Condition dates nothing."""
    assert facts_of(rx("d", "rituximab", start="2010-01-01")).onset is None


def test_duplicate_resources_count_once() -> None:
    """The same Condition in two searches and the same id-less Observation twice: once each."""
    dx = condition("ms", "426373005", onsetDateTime="2019-01-01")
    rel = relapse("r1", "2026-05-01")
    anonymous = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "273554001"}]},
        "effectiveDateTime": "2026-06-01",
        "valueQuantity": {"value": 3.0},
    }
    prefetch = prefetch_of(dx, rel)
    prefetch["conditions"]["entry"] += bundle(dx, rel)["entry"]
    prefetch["observations"] = bundle(anonymous, anonymous)
    prefetch["more"] = bundle(rel)
    facts = read_patient(PatientRecord(PATIENT_ID, prefetch), TODAY)
    assert [d.source for d in facts.ms_diagnoses] == ["Condition/ms"]
    assert [r.source for r in facts.relapses] == ["Condition/r1"]
    assert len(facts.edss) == 1
