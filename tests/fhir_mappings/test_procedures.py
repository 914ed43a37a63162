"""Prior AHSCT from Procedures: codes in each system, text, and what does not count."""

from __future__ import annotations

from datetime import date

import pytest

from tests.records import CPT, PCS, facts_of, procedure


@pytest.mark.parametrize(
    ("code", "system"),
    [
        ("234336002", "http://snomed.info/sct"),
        ("425983008", "http://snomed.info/sct"),
        ("58776007", "http://snomed.info/sct"),
        ("38241", CPT),
        ("30243Y0", PCS),
        ("30233Y0", "http://hl7.org/fhir/sid/icd-10-pcs"),
    ],
)
def test_prior_ahsct_from_each_code_system(code: str, system: str) -> None:
    """SNOMED, CPT 38241 and ICD-10-PCS codes mean a prior AHSCT, with its date."""
    facts = facts_of(procedure("p", code=code, system=system))
    (prior,) = facts.prior_ahsct
    assert prior.source == "Procedure/p"
    assert prior.on is not None and prior.on.earliest == date(2015, 3, 2)


@pytest.mark.parametrize(
    "resource",
    [
        procedure("p", code="38240", system=CPT),
        procedure("p", "Allogeneic HSCT"),
        procedure("p", code="234336002", status="not-done"),
        procedure("p", "Lumbar puncture"),
    ],
)
def test_not_a_prior_ahsct(resource: dict[str, object]) -> None:
    """Allogeneic transplants, procedures not done and other procedures are no prior AHSCT."""
    assert facts_of(resource).prior_ahsct == ()


def test_prior_ahsct_from_text() -> None:
    """'Autologous haematopoietic stem cell transplant' in text is a prior AHSCT."""
    facts = facts_of(procedure("p", "Autologous haematopoietic stem cell transplant"))
    assert [p.matched_by for p in facts.prior_ahsct] == ["text"]
