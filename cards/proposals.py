"""What a card may propose (an AHSCT referral, a DMT), and the FHIR resources it creates.

Rules return `Proposal`s (plain data, no uuids); rendering turns them into CDS
suggestions. The resource of a create action is built and validated with its
fhir.resources R4B model (ServiceRequest, MedicationRequest, Reference), and the card
carries the models' own serialisation (FHIR element order). A medication proposal's
RxNorm ingredient code comes from the DMT value set, never from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

import orjson

# The three R4B classes proposals are built with, and only these (the package's top level
# is R5; importing all of R4B would cost start-up time for models never used).
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.reference import Reference
from fhir.resources.R4B.servicerequest import ServiceRequest
from pydantic import ValidationError

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
    """A proposal cannot become a valid resource: a drug the DMT value set has no RxNorm
    ingredient code for, or no patient to propose it for."""


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


# Stand-ins for the patient-specific references while a proposal's resource is built once
# (they keep `subject` and `reasonReference` in the model's element order).
_SUBJECT = "Patient/stand-in"
_REASON = "Condition/stand-in"


@cache
def _built(kind: str, ingredient: str | None, text: str) -> bytes:
    """A proposal's resource built, validated and serialised by its R4B model, with
    stand-in references. Cached because building costs ~0.2 ms (most of a patient-view's
    rendering, measured with `make bench`): keyed only on values the service computes
    (value-set codes, card wording), it holds no request data and stays small. Kept as
    JSON text: each use decodes a fresh copy, so no card can alter another's."""
    common: dict[str, Any] = {
        "status": "draft",
        "intent": "proposal",
        "subject": {"reference": _SUBJECT},
        "reasonReference": [{"reference": _REASON}],
    }
    try:
        if kind == "referral":
            model: Any = ServiceRequest(
                **common,
                category=[{"coding": [_REFERRAL_CATEGORY]}],
                code={"coding": [_HSCT], "text": text},
            )
        else:
            assert ingredient is not None  # noqa: S101 (medication() requires it)
            coding = {
                "system": RXNORM,
                "code": rxnorm_ingredient(ingredient),
                "display": ingredient,
            }
            model = MedicationRequest(
                **common, medicationCodeableConcept={"coding": [coding], "text": ingredient}
            )
    except ValidationError as exc:  # the service's own data: a bug, never the caller's
        raise ProposalError(f"invalid {kind} proposal: {exc.error_count()} errors") from exc
    return orjson.dumps(model.model_dump(mode="json"))


def _reference(reference: str) -> dict[str, Any]:
    dumped: dict[str, Any] = Reference(reference=reference).model_dump(mode="json")
    return dumped


def resource_of(
    proposal: Proposal, text: str, references: dict[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The draft FHIR resource a proposal creates (`text` names it for the clinician): the
    resource its R4B model builds and validates, with this patient's references, each
    validated and serialised by the R4B Reference model, in place of the stand-ins.
    `references`: those already made for this card (its proposals share the patient's).
    A proposal for no patient raises ProposalError: R4 requires `subject`."""
    if not proposal.patient_ref:
        raise ProposalError(f"a {proposal.kind} proposal names no patient")
    made = references if references is not None else {}
    for ref in (proposal.patient_ref, proposal.reason_ref):
        if ref and ref not in made:
            made[ref] = _reference(ref)
    resource: dict[str, Any] = orjson.loads(_built(proposal.kind, proposal.ingredient, text))
    resource["subject"] = made[proposal.patient_ref]
    if proposal.reason_ref:
        resource["reasonReference"] = [made[proposal.reason_ref]]
    else:
        del resource["reasonReference"]
    return resource


def to_suggestion(
    proposal: Proposal,
    label: str,
    description: str,
    text: str,
    suggestion_id: str,
    references: dict[str, dict[str, Any]] | None = None,
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
        Action(
            type="create",
            description=description,
            resource=resource_of(proposal, text, references),
        )
    )
    return Suggestion(label=label, uuid=suggestion_id, actions=actions)
