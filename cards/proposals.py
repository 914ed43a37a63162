"""What a card may propose (an AHSCT evaluation referral, a DMT), and the FHIR resources
it creates.

Rules return `Proposal`s (plain data, no uuids); rendering turns them into CDS
suggestions, each with exactly one action (Epic applies one action per suggestion; the
public sandbox only the first). A proposal that replaces a draft order becomes a create
suggestion, and the draft's removal a suggestion of its own (`removal`).

The resource of a create action is built and validated with its fhir.resources R4B
model (ServiceRequest, MedicationRequest, Reference), and the card carries the models'
own serialisation (FHIR element order). Codes, most specific first:

- the site's orderable code when the site maps this proposal (CDS_ORDER_CODES_FILE:
  Epic creates unsigned orders only from its own codes);
- a medication's RxNorm clinical drug (SCD) with the label's route and dosing, where
  one was verified (cards/data/products.json), then its RxNorm ingredient code from the
  DMT value set;
- the AHSCT referral: SNOMED CT 183567007 "Referral to hematologist" (a consultation
  with a transplant haematology service for evaluation), never the transplant
  procedure itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

import orjson
from pydantic import ValidationError

from cards.orderables import REFERRAL_KEY, SiteCode
from cds_hooks import Action, Suggestion
from fhir_mappings.valuesets import load

__all__ = [
    "REFERRAL_CODE",
    "RXNORM",
    "SNOMED",
    "Proposal",
    "ProposalError",
    "medication",
    "product",
    "products",
    "referral",
    "removal",
    "resource_of",
    "rxnorm_ingredient",
    "to_suggestion",
]

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
# CONTEXT.md section 2: the referral category.
_REFERRAL_CATEGORY = {"system": SNOMED, "code": "3457005", "display": "Patient referral"}
# VSAC eCQM value set "Referral" (OID 2.16.840.1.113883.3.464.1003.101.12.1046, CMS50v10,
# eCQM Update 2021-05-06) lists 183567007 "Referral to hematologist (procedure)"
# (docs/research/advice.md section 10.2). Not 234336002 (HSCT): that orders the transplant.
REFERRAL_CODE = {"system": SNOMED, "code": "183567007", "display": "Referral to hematologist"}
_REFERRAL_PERFORMER = "Haematopoietic stem cell transplant (AHSCT) service"


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

    @property
    def key(self) -> str:
        """Its key in the site's orderable-code file."""
        return REFERRAL_KEY if self.kind == "referral" else self.ingredient or ""


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


@cache
def _products() -> dict[str, dict[str, Any]]:
    path = resources.files("cards").joinpath("data/products.json")
    products: dict[str, dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["products"]
    return products


def products() -> tuple[str, ...]:
    """The DMTs with a verified orderable-level product (cards/data/products.json)."""
    return tuple(_products())


def product(ingredient: str) -> dict[str, Any] | None:
    """The verified orderable-level product of a DMT (SCD, route, dosing), if any."""
    return _products().get(ingredient)


# Stand-ins for the patient-specific references while a proposal's resource is built once
# (they keep `subject` and `reasonReference` in the model's element order).
_SUBJECT = "Patient/stand-in"
_REASON = "Condition/stand-in"


def _medication(ingredient: str, site: dict[str, str] | None, common: dict[str, Any]) -> Any:
    codings = [site] if site else []
    known = product(ingredient)
    dosage: dict[str, Any] = {}
    if known:
        codings.append({"system": RXNORM, **known["clinical_drug"]})
        dosage = {
            "dosageInstruction": [
                {
                    "text": known["dosage_text"],
                    "route": {"coding": [{"system": SNOMED, **known["route"]}]},
                }
            ]
        }
    codings.append({"system": RXNORM, "code": rxnorm_ingredient(ingredient), "display": ingredient})
    text = known["clinical_drug"]["display"] if known else ingredient
    from fhir.resources.R4B.medicationrequest import MedicationRequest  # see _built

    return MedicationRequest(
        **common, medicationCodeableConcept={"coding": codings, "text": text}, **dosage
    )


@cache
def _built(
    kind: str, ingredient: str | None, text: str, site: tuple[str, str, str | None] | None
) -> bytes:
    """A proposal's resource built, validated and serialised by its R4B model, with
    stand-in references. Cached because building costs ~0.2 ms (most of a patient-view's
    rendering, measured with `make bench`): keyed only on values the service computes
    or is configured with (value-set codes, card wording, the site's code), it holds no
    request data and stays small. Kept as JSON text: each use decodes a fresh copy, so
    no card can alter another's."""
    common: dict[str, Any] = {
        "status": "draft",
        "intent": "proposal",
        "subject": {"reference": _SUBJECT},
        "reasonReference": [{"reference": _REASON}],
    }
    site_coding = SiteCode(system=site[0], code=site[1], display=site[2]).coding() if site else None
    # The three R4B classes proposals are built with, and only these (the package's top
    # level is R5), imported by the first proposal built: most calls build none, and a
    # worker answers its first call sooner without them.
    from fhir.resources.R4B.servicerequest import ServiceRequest

    try:
        if kind == "referral":
            codings = [site_coding, REFERRAL_CODE] if site_coding else [REFERRAL_CODE]
            model: Any = ServiceRequest(
                **common,
                category=[{"coding": [_REFERRAL_CATEGORY]}],
                code={"coding": codings, "text": text},
                performerType={"text": _REFERRAL_PERFORMER},
            )
        else:
            assert ingredient is not None  # noqa: S101 (medication() requires it)
            model = _medication(ingredient, site_coding, common)
    except ValidationError as exc:  # the service's own data: a bug, never the caller's
        raise ProposalError(f"invalid {kind} proposal: {exc.error_count()} errors") from exc
    return orjson.dumps(model.model_dump(mode="json"))


def _reference(reference: str) -> dict[str, Any]:
    """`{"reference": ...}` validated by the R4B Reference model. A Reference holding one
    primitive element serialises as that element's validated value, so the value is read
    from the model: fhir_core's serializer would cost more than the validation and give
    the same dict (tests/cards/test_proposals.py holds them equal)."""
    from fhir.resources.R4B.reference import Reference  # see _built

    return {"reference": Reference(reference=reference).reference}


def resource_of(
    proposal: Proposal,
    text: str,
    references: dict[str, dict[str, Any]] | None = None,
    orderables: dict[str, SiteCode] | None = None,
) -> dict[str, Any]:
    """The draft FHIR resource a proposal creates (`text` names a referral for the
    clinician): the resource its R4B model builds and validates, with this patient's
    references, each validated by the R4B Reference model, in place of the stand-ins.
    `references`: those already made for this card (its proposals share the patient's).
    `orderables`: the site's codes by proposal key. A proposal for no patient raises
    ProposalError: R4 requires `subject`."""
    if not proposal.patient_ref:
        raise ProposalError(f"a {proposal.kind} proposal names no patient")
    made = references if references is not None else {}
    for ref in (proposal.patient_ref, proposal.reason_ref):
        if ref and ref not in made:
            made[ref] = _reference(ref)
    code = (orderables or {}).get(proposal.key)
    site = (code.system, code.code, code.display) if code else None
    resource: dict[str, Any] = orjson.loads(_built(proposal.kind, proposal.ingredient, text, site))
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
    orderables: dict[str, SiteCode] | None = None,
) -> Suggestion:
    """One suggestion with one action: create the proposal (a draft it replaces is
    removed by a suggestion of its own: `removal`)."""
    action = Action(
        type="create",
        description=description,
        resource=resource_of(proposal, text, references, orderables),
    )
    return Suggestion(label=label, uuid=suggestion_id, actions=[action])


def removal(draft_ref: str, label: str, description: str, suggestion_id: str) -> Suggestion:
    """One suggestion with one action: remove a draft order (its own suggestion, so that a
    client applying only a suggestion's first action never loses a new order)."""
    action = Action(type="delete", description=description, resourceId=draft_ref)
    return Suggestion(label=label, uuid=suggestion_id, actions=[action])
