"""What a card may propose (an AHSCT referral, a DMT), and the FHIR resources it creates.

Rules return `Proposal`s (plain data, no uuids); rendering turns them into CDS
suggestions. A medication proposal's RxNorm ingredient code comes from the DMT
value set, never from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from cds_hooks import Action, Suggestion
from fhir_mappings.valuesets import load

__all__ = [
    "RXNORM",
    "SNOMED",
    "Proposal",
    "ProposalError",
    "medication",
    "referral",
    "rxnorm_ingredient",
    "to_suggestion",
]

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
# CONTEXT.md section 2: referral category and the AHSCT procedure code.
_REFERRAL_CATEGORY = {"system": SNOMED, "code": "3457005", "display": "Patient referral"}
_HSCT = {"system": SNOMED, "code": "234336002", "display": "Hemopoietic stem cell transplant"}


class ProposalError(ValueError):
    """A proposal names a drug the DMT value set has no RxNorm ingredient code for."""


@dataclass(frozen=True)
class Proposal:
    kind: Literal["referral", "medication"]
    topic: str  # the card topic whose content words it
    patient_ref: str | None
    reason_ref: str | None
    ingredient: str | None = None
    replaces: str | None = None  # a draft order to remove in favour of this one


def referral(patient_ref: str | None, reason_ref: str | None) -> Proposal:
    return Proposal("referral", "ahsctReferral", patient_ref, reason_ref)


def medication(
    topic: str,
    ingredient: str,
    patient_ref: str | None,
    reason_ref: str | None,
    replaces: str | None = None,
) -> Proposal:
    return Proposal("medication", topic, patient_ref, reason_ref, ingredient, replaces)


def rxnorm_ingredient(ingredient: str) -> str:
    """The RxNorm ingredient RxCUI of a DMT (the first listed when sources conflict)."""
    for (system, code), entry in load("dmt").codes.items():
        attrs = entry.attributes
        if system == RXNORM and attrs.get("kind") == "ingredient":
            if attrs.get("ingredient") == ingredient:
                return code
    raise ProposalError(f"no RxNorm ingredient code for {ingredient!r} in valuesets/dmt.json")


def _common(proposal: Proposal) -> dict[str, Any]:
    out: dict[str, Any] = {"status": "draft", "intent": "proposal"}
    if proposal.patient_ref:
        out["subject"] = {"reference": proposal.patient_ref}
    if proposal.reason_ref:
        out["reasonReference"] = [{"reference": proposal.reason_ref}]
    return out


def resource_of(proposal: Proposal, text: str) -> dict[str, Any]:
    """The draft FHIR resource a proposal creates; `text` names it for the clinician."""
    if proposal.kind == "referral":
        return {
            "resourceType": "ServiceRequest",
            **_common(proposal),
            "category": [{"coding": [_REFERRAL_CATEGORY]}],
            "code": {"coding": [_HSCT], "text": text},
        }
    assert proposal.ingredient is not None  # noqa: S101 (medication() requires it)
    return {
        "resourceType": "MedicationRequest",
        **_common(proposal),
        "medicationCodeableConcept": {
            "coding": [
                {
                    "system": RXNORM,
                    "code": rxnorm_ingredient(proposal.ingredient),
                    "display": proposal.ingredient,
                }
            ],
            "text": proposal.ingredient,
        },
    }


def to_suggestion(
    proposal: Proposal, label: str, description: str, text: str, suggestion_id: str
) -> Suggestion:
    """One suggestion: remove the replaced draft (if any), then create the proposal."""
    actions = []
    if proposal.replaces:
        actions.append(
            Action(
                type="delete",
                description=f"Remove the draft order {proposal.replaces}",
                resourceId=proposal.replaces,
            )
        )
    actions.append(
        Action(type="create", description=description, resource=resource_of(proposal, text))
    )
    return Suggestion(label=label, uuid=suggestion_id, actions=actions)
