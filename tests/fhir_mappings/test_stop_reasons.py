"""Why a DMT stopped (statusReason, reasonCode, note) and documented refusals."""

from __future__ import annotations

from typing import Any

import pytest

from fhir_mappings.build import PatientRecord, read_patient
from fhir_mappings.facts import Refusal, StopReason
from tests.builders import PATIENT_ID, SNOMED, bundle, patient
from tests.conftest import TODAY
from tests.records import SUBJECT, facts_of, procedure, rx, statement

S = StopReason


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"statusReason": {"text": "Breakthrough relapses on therapy"}}, (S.LACK_OF_EFFICACY,)),
        (
            {"statusReason": {"coding": [{"system": SNOMED, "code": "266721009"}]}},
            (S.LACK_OF_EFFICACY,),
        ),
        ({"statusReason": {"text": "Infusion reaction"}}, (S.ADVERSE_EVENT,)),
        (
            {"statusReason": {"coding": [{"system": SNOMED, "code": "62014003"}]}},
            (S.ADVERSE_EVENT,),
        ),
        ({"statusReason": {"text": "Recurrent urinary tract infections"}}, (S.INFECTION,)),
        ({"statusReason": {"text": "JCV antibody index 2.1"}}, (S.PML_RISK,)),
        ({"statusReason": {"text": "Planning pregnancy"}}, (S.PREGNANCY,)),
        ({"statusReason": {"text": "Patient preference"}}, (S.PATIENT_CHOICE,)),
        ({"statusReason": {"text": "Lymphopenia and shingles"}}, (S.ADVERSE_EVENT, S.INFECTION)),
        ({"reasonCode": [{"text": "Side effects"}]}, (S.ADVERSE_EVENT,)),
        ({"note": [{"text": "Stopped in March due to pregnancy."}]}, (S.PREGNANCY,)),
        ({"note": [{"text": "Discontinued because of new MRI activity"}]}, (S.LACK_OF_EFFICACY,)),
        ({"note": [{"text": "No adverse events. Tolerating well."}]}, ()),
        ({}, ()),
    ],
)
def test_stop_reasons_by_category(extra: dict[str, Any], expected: tuple[StopReason, ...]) -> None:
    """statusReason (text or SNOMED), reasonCode of a stopped order, and a note that says why
    it stopped give the categories; a note without a stop cause gives none."""
    (dmt,) = facts_of(rx("m", "natalizumab", status="stopped", **extra)).dmts
    assert dmt.stop_reasons == expected
    assert dmt.stop_reason == (expected[0] if expected else None)


def test_reason_code_of_an_active_order_is_why_it_was_given() -> None:
    """reasonCode on a current order ("new activity") is the indication, not a stop reason;
    on a stopped order an indication ("multiple sclerosis") is no reason either."""
    resource = rx("m", "ocrelizumab", reasonCode=[{"text": "new MRI activity"}])
    (dmt,) = facts_of(resource).dmts
    assert dmt.current is True and dmt.stop_reasons == ()
    stopped = rx("m", "Tysabri", status="stopped", reasonCode=[{"text": "multiple sclerosis"}])
    assert facts_of(stopped).dmts[0].stop_reasons == ()


def test_reasons_merge_across_records_lack_of_efficacy_first() -> None:
    """Reasons from every stopped record of one drug, in category order."""
    (dmt,) = facts_of(
        rx("a", "Tysabri", status="stopped", statusReason={"text": "PML risk"}),
        statement("b", "natalizumab", status="stopped", statusReason=[{"text": "ineffective"}]),
    ).dmts
    assert dmt.stop_reasons == (S.LACK_OF_EFFICACY, S.PML_RISK)
    assert dmt.stop_reason is S.LACK_OF_EFFICACY


@pytest.mark.parametrize(
    "resource",
    [
        rx("m", "Ocrevus", status="cancelled", statusReason={"text": "Patient declined"}),
        rx("m", "ocrelizumab", status="stopped", statusReason={"text": "pt refuses infusions"}),
        rx(
            "m",
            "ocrelizumab",
            status="cancelled",
            statusReason={"coding": [{"system": SNOMED, "code": "182895007"}]},
        ),
        statement(
            "m",
            "ocrelizumab",
            status="not-taken",
            statusReason=[{"coding": [{"system": SNOMED, "code": "406149000"}]}],
        ),
    ],
)
def test_declined_dmt_is_a_refusal_not_exposure(resource: dict[str, Any]) -> None:
    """A cancelled/stopped/not-taken record the patient declined is a refusal of that DMT."""
    facts = facts_of(resource)
    assert facts.dmts == ()
    assert [(r.option, r.source) for r in facts.refusals] == [
        ("ocrelizumab", resource["resourceType"] + "/m")
    ]


def test_cancelled_for_another_reason_is_no_refusal() -> None:
    """Cancelled for insurance reasons: neither exposure nor refusal."""
    facts = facts_of(rx("m", "ocrelizumab", status="cancelled", statusReason={"text": "insurance"}))
    assert facts.dmts == () and facts.refusals == ()


AHSCT = "autologous haematopoietic stem cell transplantation"


def _not_done(reason: dict[str, Any]) -> dict[str, Any]:
    resource = procedure("p", AHSCT, status="not-done", when=None)
    resource["statusReason"] = reason
    return resource


@pytest.mark.parametrize(
    ("reason", "refused"),
    [
        ({"coding": [{"system": SNOMED, "code": "183944003"}]}, True),  # procedure refused
        ({"coding": [{"system": SNOMED, "code": "105480006"}]}, True),  # refusal of treatment
        ({"text": "Patient declined after counselling"}, True),
        ({"text": "Contraindicated: active infection"}, False),
    ],
)
def test_ahsct_not_done_with_a_refusal_is_refused(reason: dict[str, Any], refused: bool) -> None:
    """A Procedure not done whose reason is the patient's refusal: Refusal of "ahsct"."""
    facts = facts_of(_not_done(reason))
    assert facts.refusals == ((Refusal(option="ahsct", source="Procedure/p"),) if refused else ())
    assert facts.prior_ahsct == ()


def test_revoked_service_request_with_refusal_note() -> None:
    """A revoked AHSCT referral whose note says the patient declined is a refusal."""
    request = {
        "resourceType": "ServiceRequest",
        "id": "sr",
        "status": "revoked",
        "intent": "order",
        "subject": SUBJECT,
        "authoredOn": "2026-03-02",
        "code": {"text": "Referral for autologous HSCT"},
        "note": [{"text": "Cancelled: patient declined transplant."}],
    }
    record = PatientRecord(
        PATIENT_ID, {"patient": patient("1990-04-12"), "procedures": bundle(request)}
    )
    (refusal,) = read_patient(record, TODAY).refusals
    assert (refusal.option, refusal.source) == ("ahsct", "ServiceRequest/sr")
    assert refusal.on is not None and refusal.on.text == "2026-03-02"
