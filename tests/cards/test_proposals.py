"""What a card proposes is built and validated with fhir.resources R4B, as its models
serialise it; nothing is proposed for no patient."""

from __future__ import annotations

from typing import Any

import pytest
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.reference import Reference
from fhir.resources.R4B.servicerequest import ServiceRequest

from cards.orderables import SiteCode
from cards.proposals import Proposal, ProposalError, medication, referral, resource_of
from cards.render import proposal_suggestions, removal_suggestions
from fhir_mappings.build import PatientRecord, read_drafts
from fhir_mappings.facts import OrderKind

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
    """A drug without a verified clinical drug code is coded with its RxNorm ingredient
    from valuesets/dmt.json, and carries no dosing."""
    resource = resource_of(medication("dmtEscalation", "natalizumab", "Patient/p1", None), "x")
    assert resource["medicationCodeableConcept"] == {
        "coding": [
            {
                "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                "code": "354770",
                "display": "natalizumab",
            }
        ],
        "text": "natalizumab",
    }
    assert "dosageInstruction" not in resource
    with pytest.raises(ProposalError):
        resource_of(medication("dmtEscalation", "no-such-drug", "Patient/p1", None), "x")


def test_ocrelizumab_is_proposed_at_its_verified_clinical_drug_with_route_and_dose() -> None:
    """Ocrelizumab: RxNorm SCD 1876380 first, then the ingredient; IV route (SNOMED CT
    47625008) and the label's dosing."""
    resource = resource_of(medication("dmtEscalation", "ocrelizumab", "Patient/p1", None), "x")
    concept = resource["medicationCodeableConcept"]
    assert [c["code"] for c in concept["coding"]] == ["1876380", "1876366"]
    assert concept["text"] == "10 ML ocrelizumab 30 MG/ML Injection"
    (dosage,) = resource["dosageInstruction"]
    assert dosage["route"]["coding"] == [
        {"system": "http://snomed.info/sct", "code": "47625008", "display": "Intravenous route"}
    ]
    assert "600 mg by intravenous infusion every 6 months" in dosage["text"]


def test_site_code_comes_first_and_standard_codes_stay() -> None:
    """With the site's orderable mapped, its coding leads; RxNorm / SNOMED CT follow."""
    site = {
        "ocrelizumab": SiteCode(system="urn:oid:1.2.840.114350", code="98765", display="OCR IV"),
        "ahsctReferral": SiteCode(system="urn:oid:1.2.840.114350", code="REF42"),
    }
    med = resource_of(
        medication("dmtEscalation", "ocrelizumab", "Patient/p1", None), "x", orderables=site
    )
    assert [c["code"] for c in med["medicationCodeableConcept"]["coding"]] == [
        "98765",
        "1876380",
        "1876366",
    ]
    ref = resource_of(referral("Patient/p1", None), "x", orderables=site)
    assert [c["code"] for c in ref["code"]["coding"]] == ["REF42", "183567007"]
    plain = resource_of(referral("Patient/p1", None), "x")
    assert [c["code"] for c in plain["code"]["coding"]] == ["183567007"]


def test_ahsct_proposal_is_a_referral_for_consultation_never_the_transplant() -> None:
    """The AHSCT proposal is a ServiceRequest referral (SNOMED CT 183567007) to a transplant
    service, never the HSCT procedure code 234336002."""
    resource = resource_of(referral("Patient/p1", "Condition/ms-1"), "Referral for AHSCT")
    assert resource["category"][0]["coding"][0]["code"] == "3457005"
    assert resource["code"]["coding"] == [
        {
            "system": "http://snomed.info/sct",
            "code": "183567007",
            "display": "Referral to hematologist",
        }
    ]
    assert "234336002" not in str(resource)
    assert "transplant" in resource["performerType"]["text"]


def test_replacing_a_draft_is_a_create_and_a_separate_removal() -> None:
    """A proposal replacing a draft: one create per suggestion, and one suggestion (for
    the card) removing the draft, each with exactly one action."""
    proposals = [
        medication("dmtEscalation", name, "Patient/p1", None, "MedicationRequest/d")
        for name in ("ocrelizumab", "natalizumab")
    ]
    created = proposal_suggestions(proposals, "suggestion_label")
    removed = removal_suggestions(proposals, "dmtEscalation", "teriflunomide")
    assert [[a.type for a in s.actions or []] for s in created] == [["create"], ["create"]]
    (remove,) = removed
    assert [(a.type, a.resourceId) for a in remove.actions or []] == [
        ("delete", "MedicationRequest/d")
    ]
    assert "teriflunomide" in remove.label


def test_a_proposed_ocrelizumab_order_reads_back_as_ocrelizumab() -> None:
    """Signed as proposed, the resource is recognised as an ocrelizumab DMT order."""
    resource = resource_of(medication("dmtEscalation", "ocrelizumab", "Patient/p1", None), "x")
    resource["id"] = "proposed-1"
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": resource}]}
    drafts = read_drafts(PatientRecord(patient_id="p1", prefetch={}, draft_orders=bundle))
    (order,) = drafts.orders
    assert order.kind is OrderKind.DMT and order.dmt_ingredient == "ocrelizumab"


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


@pytest.mark.parametrize(
    "reference", ["Patient/p1", " Patient/p2 ", "Condition/a b", "Patient/é", "urn:uuid:1"]
)
def test_references_are_the_r4b_reference_models_serialisation(reference: str) -> None:
    """Each patient-specific reference is what the R4B Reference model serialises."""
    resource = resource_of(medication("dmtEscalation", "ocrelizumab", reference, reference), "x")
    expected = Reference(reference=reference).model_dump(mode="json")
    assert resource["subject"] == expected and resource["reasonReference"] == [expected]
