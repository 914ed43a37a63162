"""The mscWarning card: MSC infusion orders for a patient with MS, on real EHR shapes."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.builders import (
    HCPCS,
    ICD10CM,
    condition,
    med_request,
    ms_condition,
    service_request,
)
from tests.builders import hook_request as build


def post(client: TestClient, service: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    response = client.post(f"/cds-services/{service}", json=body)
    assert response.status_code == 200, response.text
    cards: list[dict[str, Any]] = response.json()["cards"]
    return cards


def msc_cards(cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for c in cards if c["source"]["topic"]["code"] == "mscWarning"]


def select(
    client: TestClient, draft: dict[str, Any], conditions: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    body = build("order-select", drafts=[draft], conditions=conditions or [ms_condition()])
    return msc_cards(post(client, "ms-order-select", body))


CONTAINED_MEDICATION = med_request(
    "mr-contained",
    medicationReference={"reference": "#med1"},
    contained=[
        {
            "resourceType": "Medication",
            "id": "med1",
            "code": {"text": "Allogeneic umbilical cord stem cells (Wharton's jelly)"},
        }
    ],
)
MSC_ORDERS = {
    "text mesenchymal stromal": med_request("mr-1", text="Mesenchymal stromal cells IV"),
    "text UC-MSC": med_request("mr-2", text="UC-MSC infusion"),
    "text Ryoncil": med_request("mr-3", text="Ryoncil 2 million cells/kg"),
    "HCPCS J3402 coded": med_request("mr-4", code="J3402", system=HCPCS),
    "coding display only": {
        **med_request("mr-5"),
        "medicationCodeableConcept": {
            "coding": [
                {
                    "system": "http://example.org/local",
                    "code": "X1",
                    "display": "Adipose-derived stromal vascular fraction",
                }
            ]
        },
    },
    "contained Medication": CONTAINED_MEDICATION,
    "ServiceRequest code text": service_request("sr-1", text="MSC infusion, autologous"),
}


@pytest.mark.parametrize("draft", MSC_ORDERS.values(), ids=MSC_ORDERS.keys())
def test_msc_order_for_ms_patient_gets_one_critical_card(
    client: TestClient, draft: dict[str, Any]
) -> None:
    """Every real MSC order shape for a patient with MS yields one mscWarning card."""
    cards = select(client, draft)
    assert len(cards) == 1
    card = cards[0]
    assert card["indicator"] == "critical"
    ref = f"{draft['resourceType']}/{draft['id']}"
    action = card["suggestions"][0]["actions"][0]
    assert action == {"type": "delete", "resourceId": ref, "description": action["description"]}


def test_medication_reference_to_bundled_medication(client: TestClient) -> None:
    """A medicationReference to a Medication elsewhere in the draft bundle is followed."""
    order = med_request("mr-ref", medicationReference={"reference": "Medication/m-9"})
    medication = {
        "resourceType": "Medication",
        "id": "m-9",
        "code": {"coding": [{"system": HCPCS, "code": "J3402"}]},
    }
    body = build(
        "order-select",
        drafts=[order, medication],
        selections=["MedicationRequest/mr-ref"],
        conditions=[ms_condition()],
    )
    assert len(msc_cards(post(client, "ms-order-select", body))) == 1


def test_card_content_meets_the_spec_and_the_evidence(client: TestClient) -> None:
    """The card carries MESEMS numbers, IBMIR, trial-only, citation, source, links, overrides."""
    card = select(client, MSC_ORDERS["text mesenchymal stromal"])[0]
    assert len(card["summary"]) < 140
    detail = card["detail"]
    for needed in (
        "0.94",
        "0.58-1.50",
        "p = 0.78",
        "IBMIR",
        "thrombo",
        "only within a registered clinical trial",
        "Lancet Neurol 2021",
    ):
        assert needed in detail
    source = card["source"]
    assert source["label"] and source["url"].startswith("https://")
    assert source["topic"]["code"] == "mscWarning"
    assert card["selectionBehavior"] in ("any", "at-most-one")
    assert card["uuid"] and all(s["uuid"] for s in card["suggestions"])
    reasons = [r["display"].lower() for r in card["overrideReasons"]]
    assert any("registered clinical trial" in r for r in reasons)
    link = card["links"][0]
    assert link["type"] == "absolute" and link["url"].startswith("https://clinicaltrials.gov/")
    assert "Mesenchymal" in link["url"] and "Multiple%20Sclerosis" in link["url"]


HSCT_ORDERS = {
    "autologous HSCT text": service_request(
        "sr-h1", text="Autologous haematopoietic stem cell transplantation (AHSCT) evaluation"
    ),
    "US spelling": med_request("mr-h2", text="Hematopoietic stem cell infusion"),
    "CPT 38241": service_request("sr-h3", code="38241", system="http://www.ama-assn.org/go/cpt"),
    "ICD-10-PCS 30243Y0 with MSC words": service_request(
        "sr-h4",
        code="30243Y0",
        system="http://www.cms.gov/Medicare/Coding/ICD10",
        text="stem cell infusion (not MSC)",
    ),
    "SNOMED HSCT": service_request("sr-h5", code="234336002"),
    "mixed wording": med_request("mr-h6", text="AHSCT - haematopoietic, not mesenchymal"),
    "PBSC": med_request("mr-h7", text="Autologous peripheral blood stem cell reinfusion"),
}


@pytest.mark.parametrize("draft", HSCT_ORDERS.values(), ids=HSCT_ORDERS.keys())
def test_haematopoietic_orders_are_never_flagged_as_msc(
    client: TestClient, draft: dict[str, Any]
) -> None:
    """An AHSCT order never gets an MSC warning, whatever the wording."""
    assert select(client, draft) == []


def test_gvhd_reason_suppresses_the_warning(client: TestClient) -> None:
    """An MSC order whose stated reason is GVHD is not this service's business."""
    draft = med_request(
        "mr-g",
        text="Ryoncil (remestemcel-L)",
        reasonCode=[{"text": "Steroid-refractory acute graft-versus-host disease"}],
    )
    assert select(client, draft) == []


def test_reason_reference_to_non_ms_condition_suppresses(client: TestClient) -> None:
    """A reasonReference to a non-MS Condition in the record suppresses the warning."""
    gvhd = condition("gvhd-1", "402355000", text="Acute graft-versus-host disease")
    draft = med_request(
        "mr-g2", text="MSC infusion", reasonReference=[{"reference": "Condition/gvhd-1"}]
    )
    assert select(client, draft, conditions=[ms_condition(), gvhd]) == []


def test_ms_reason_code_fires_without_ms_condition(client: TestClient) -> None:
    """An order whose reasonCode is MS fires even when no MS Condition was sent."""
    draft = med_request(
        "mr-r",
        text="Mesenchymal stem cells",
        reasonCode=[{"coding": [{"system": ICD10CM, "code": "G35.A"}]}],
    )
    cards = select(client, draft, conditions=[condition("htn", "38341003")])
    assert len(cards) == 1


def test_no_ms_means_no_warning(client: TestClient) -> None:
    """An MSC order for a patient without MS (and no MS reason) is left alone."""
    draft = med_request("mr-n", text="Mesenchymal stem cells")
    assert select(client, draft, conditions=[condition("htn", "38341003")]) == []


MS_CONDITIONS = {
    "SNOMED MS": ms_condition(code="24700007"),
    "ICD-10-CM G35.A": condition("c1", "G35.A", system=ICD10CM),
    "ICD-10-CM legacy G35": condition("c2", "G35", system=ICD10CM),
    "ICD-10-CM G35.C1": condition("c3", "G35.C1", system=ICD10CM),
    "ICD-10-GM G35.10": condition(
        "c4", "G35.10", system="http://fhir.de/CodeSystem/bfarm/icd-10-gm"
    ),
    "text only": condition("c5", text="Multiple sclerosis, relapsing-remitting"),
    "remission still MS": ms_condition(clinical="remission"),
}


@pytest.mark.parametrize("ms", MS_CONDITIONS.values(), ids=MS_CONDITIONS.keys())
def test_ms_is_recognised_in_every_code_system(client: TestClient, ms: dict[str, Any]) -> None:
    """MS from SNOMED, ICD-10-CM (FY2026 and legacy), ICD-10-GM or text counts."""
    assert len(select(client, MSC_ORDERS["text UC-MSC"], conditions=[ms])) == 1


NOT_MS = {
    "resolved": ms_condition(clinical="resolved"),
    "inactive": ms_condition(clinical="inactive"),
    "refuted": ms_condition(verification="refuted", clinical=None),
    "entered in error": ms_condition(verification="entered-in-error", clinical=None),
    "CIS": condition("cis", "445967004"),
    "RIS": condition("ris", "16415361000119105"),
    "CIS text": condition(
        "cis2", text="Clinically isolated syndrome, suspected multiple sclerosis"
    ),
}


@pytest.mark.parametrize("condition_", NOT_MS.values(), ids=NOT_MS.keys())
def test_inactive_or_not_ms_conditions_do_not_count(
    client: TestClient, condition_: dict[str, Any]
) -> None:
    """Resolved, inactive, refuted, entered-in-error, CIS and RIS are not 'has MS'."""
    assert select(client, MSC_ORDERS["text UC-MSC"], conditions=[condition_]) == []


def test_order_select_judges_only_selections(client: TestClient) -> None:
    """At order-select only the selections are judged; other drafts are context."""
    msc = med_request("mr-a", text="Mesenchymal stem cells")
    other = med_request("mr-b", text="Baclofen 10 mg")
    body = build(
        "order-select",
        drafts=[msc, other],
        selections=["MedicationRequest/mr-b"],
        conditions=[ms_condition()],
    )
    assert msc_cards(post(client, "ms-order-select", body)) == []


def test_order_sign_judges_every_draft_in_one_card(client: TestClient) -> None:
    """At order-sign every draft is judged: one card, one removal per MSC order."""
    drafts = [
        med_request("mr-a", text="Mesenchymal stem cells"),
        service_request("sr-b", text="UC-MSC infusion"),
        med_request("mr-c", text="Baclofen 10 mg"),
    ]
    body = build("order-sign", drafts=drafts, conditions=[ms_condition()])
    [card] = msc_cards(post(client, "ms-order-sign", body))
    targets = sorted(a["resourceId"] for s in card["suggestions"] for a in s["actions"])
    assert targets == ["MedicationRequest/mr-a", "ServiceRequest/sr-b"]


def test_patient_view_never_shows_msc_warning(client: TestClient) -> None:
    """patient-view has no orders to judge: no mscWarning."""
    body = build("patient-view", conditions=[ms_condition()])
    assert msc_cards(post(client, "ms-patient-view", body)) == []


def test_cancelled_msc_order_is_not_judged(client: TestClient) -> None:
    """An order already cancelled or entered-in-error is not warned about."""
    draft = med_request("mr-x", text="Mesenchymal stem cells")
    draft["status"] = "cancelled"
    assert select(client, draft) == []
