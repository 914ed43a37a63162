"""What a card proposes is built and validated with fhir.resources R4B, as its models
serialise it; nothing is proposed for no patient."""

from __future__ import annotations

from typing import Any

import pytest
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.servicerequest import ServiceRequest

from cards.proposals import Proposal, ProposalError, medication, referral, resource_of
from cards.render import proposal_suggestions

PROPOSALS = {
    "referral": (referral("Patient/p1", "Condition/ms-1"), ServiceRequest),
    "referral, no reason": (referral("Patient/p1", None), ServiceRequest),
    "medication": (
        medication("dmtEscalation", "ocrelizumab", "Patient/p1", "Condition/ms-1"),
        MedicationRequest,
    ),
    "medication replacing a draft": (
        medication("dmtEscalation", "natalizumab", "Patient/p1", None, "MedicationRequest/d"),
        MedicationRequest,
    ),
}


@pytest.mark.parametrize(("proposal", "model"), PROPOSALS.values(), ids=PROPOSALS.keys())
def test_proposed_resource_is_its_r4b_models_own_serialisation(
    proposal: Proposal, model: Any
) -> None:
    """The resource validates as R4B and is exactly what the model serialises, in FHIR
    element order, with this patient's references."""
    resource = resource_of(proposal, "Referral for AHSCT")
    again = model.model_validate(resource).model_dump(mode="json")
    assert again == resource and list(again) == list(resource)
    assert resource["status"] == "draft" and resource["intent"] == "proposal"
    assert resource["subject"] == {"reference": "Patient/p1"}
    reasons = [{"reference": proposal.reason_ref}] if proposal.reason_ref else None
    assert resource.get("reasonReference") == reasons


def test_each_use_is_a_fresh_resource() -> None:
    """Changing one card's resource never changes another's."""
    proposal = medication("dmtEscalation", "ocrelizumab", "Patient/p1", None)
    first = resource_of(proposal, "x")
    first["medicationCodeableConcept"]["coding"][0]["code"] = "changed"
    assert resource_of(proposal, "x")["medicationCodeableConcept"]["coding"][0]["code"] != (
        "changed"
    )


def test_medication_code_is_the_value_sets_rxnorm_ingredient() -> None:
    """The MedicationRequest codes the drug with its RxNorm ingredient from valuesets/dmt.json."""
    resource = resource_of(medication("dmtEscalation", "ocrelizumab", "Patient/p1", None), "x")
    assert resource["medicationCodeableConcept"]["coding"] == [
        {
            "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
            "code": "1876366",
            "display": "ocrelizumab",
        }
    ]
    with pytest.raises(ProposalError):
        resource_of(medication("dmtEscalation", "no-such-drug", "Patient/p1", None), "x")


def test_nothing_is_proposed_for_no_patient() -> None:
    """R4 requires a subject: a proposal for no patient is refused, and left off the card."""
    orphan = referral(None, "Condition/ms-1")
    with pytest.raises(ProposalError):
        resource_of(orphan, "x")
    kept = referral("Patient/p1", None)
    suggestions = proposal_suggestions([orphan, kept], "suggestion_label")
    assert len(suggestions) == 1
    (action,) = suggestions[0].actions or []
    assert action.resource is not None and action.resource["subject"]["reference"] == "Patient/p1"
