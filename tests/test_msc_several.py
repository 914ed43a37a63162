"""One mscWarning card for several MSC orders, through the HTTP API (issue 17 #3)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from cds_service.storage.schema import card_ledger, feedback
from tests.builders import hook_request as build
from tests.builders import med_request, ms_condition, service_request
from tests.conftest import make_settings
from tests.harness import card_deletes
from tests.storage_helpers import TIMESTAMP, reason, rows

EXPLANATION = "org.example.ms-cds.explanation"


def msc_cards(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    return [c for c in response.json()["cards"] if c["source"]["topic"]["code"] == "mscWarning"]


def msc_drafts(count: int) -> list[dict[str, Any]]:
    return [med_request(f"mr-{i}", text="UC-MSC infusion") for i in range(count)]


def test_several_msc_orders_at_order_sign_give_one_card(client: TestClient) -> None:
    """Three MSC drafts and baclofen: one critical card, three removals, each order named."""
    drafts = [*msc_drafts(2), service_request("sr-x", text="Mesenchymal stromal cells")]
    drafts.append(med_request("mr-bac", text="Baclofen 10 mg"))
    body = build("order-sign", drafts=drafts, conditions=[ms_condition()])
    [card] = msc_cards(client.post("/cds-services/ms-order-sign", json=body))
    assert card["indicator"] == "critical"
    assert card["summary"].startswith("3 MSC infusion orders. ") and len(card["summary"]) < 140
    assert card_deletes(card) == [
        "MedicationRequest/mr-0",
        "MedicationRequest/mr-1",
        "ServiceRequest/sr-x",
    ]
    assert card["selectionBehavior"] == "any"
    assert all(len(s["actions"]) == 1 and s["uuid"] for s in card["suggestions"])
    assert {r["code"] for r in card["overrideReasons"]} >= {"registeredTrial"}
    assert all(r["system"] and r["display"] for r in card["overrideReasons"])
    facts = card["extension"][EXPLANATION]["facts"]
    assert [o["order"] for o in facts["orders"]] == card_deletes(card)
    assert "MedicationRequest/mr-bac" not in str(card)
    for number, ref in enumerate(card_deletes(card), start=1):
        assert f"**Order {number} of 3:** {ref}," in card["detail"]


def test_hsct_orders_beside_msc_orders_are_never_listed(client: TestClient) -> None:
    """Mixed MSC and AHSCT drafts: one card naming only the MSC ones."""
    drafts = [
        med_request("mr-msc", text="Mesenchymal stem cells"),
        service_request("sr-ahsct", text="Autologous haematopoietic stem cell transplantation"),
        med_request("mr-pbsc", text="Autologous peripheral blood stem cell reinfusion"),
        service_request("sr-msc", text="MSC infusion, autologous"),
    ]
    body = build("order-sign", drafts=drafts, conditions=[ms_condition()])
    [card] = msc_cards(client.post("/cds-services/ms-order-sign", json=body))
    assert card_deletes(card) == ["MedicationRequest/mr-msc", "ServiceRequest/sr-msc"]
    assert "sr-ahsct" not in str(card) and "mr-pbsc" not in str(card)
    assert card["summary"].startswith("2 MSC infusion orders. ")


def test_order_select_lists_only_the_selected_msc_orders(client: TestClient) -> None:
    """order-select: the selected MSC orders are listed; another MSC draft is context."""
    drafts = msc_drafts(3)
    body = build(
        "order-select",
        drafts=drafts,
        selections=["MedicationRequest/mr-0", "MedicationRequest/mr-2"],
        conditions=[ms_condition()],
    )
    [card] = msc_cards(client.post("/cds-services/ms-order-select", json=body))
    assert card_deletes(card) == ["MedicationRequest/mr-0", "MedicationRequest/mr-2"]


def test_patient_view_several_open_msc_orders_only_drafts_removable(client: TestClient) -> None:
    """patient-view: every open MSC order in the record listed, only drafts deletable."""
    meds = [
        med_request("mr-d1", text="UC-MSC infusion", status="draft", intent="order"),
        med_request("mr-act", text="UC-MSC infusion", status="active", intent="order"),
        med_request("mr-done", text="UC-MSC infusion", status="completed", intent="order"),
    ]
    services = [service_request("sr-d2", text="MSC infusion, autologous", status="draft")]
    body = build(
        "patient-view",
        conditions=[ms_condition()],
        medicationRequests={"resourceType": "Bundle", "entry": [{"resource": m} for m in meds]},
        serviceRequests={"resourceType": "Bundle", "entry": [{"resource": s} for s in services]},
    )
    [card] = msc_cards(client.post("/cds-services/ms-patient-view", json=body))
    assert sorted(card_deletes(card)) == ["MedicationRequest/mr-d1", "ServiceRequest/sr-d2"]
    listed = {
        o["order"]: o["orderInRecord"]["status"]
        for o in card["extension"][EXPLANATION]["facts"]["orders"]
    }
    assert listed == {
        "MedicationRequest/mr-d1": "draft",
        "MedicationRequest/mr-act": "active",
        "ServiceRequest/sr-d2": "draft",
    }
    assert card["summary"].startswith("3 MSC infusion orders. ")
    assert "not a draft, so it cannot be removed" in card["detail"]


def test_the_most_draft_orders_allowed_fit_one_bounded_card(
    app_factory: Callable[..., FastAPI],
) -> None:
    """CDS_MAX_DRAFT_ORDERS MSC drafts: one card with a removal each, within the byte limit."""
    settings = make_settings()
    drafts = msc_drafts(settings.max_draft_orders)
    body = build("order-sign", drafts=drafts, conditions=[ms_condition()])
    with TestClient(app_factory(settings)) as client:
        response = client.post("/cds-services/ms-order-sign", json=body)
    [card] = msc_cards(response)
    assert len(card_deletes(card)) == settings.max_draft_orders
    assert len(response.content) < settings.max_response_bytes
    assert card["summary"].startswith(f"{settings.max_draft_orders} MSC infusion orders. ")


def test_feedback_on_a_several_order_card_keeps_each_accepted_suggestion(
    app_factory: Callable[..., FastAPI], sqlite_url: str
) -> None:
    """The ledger holds the one card; accepted feedback keeps which removals were chosen."""
    body = build("order-sign", drafts=msc_drafts(3), conditions=[ms_condition()])
    with TestClient(app_factory(make_settings(database_url=sqlite_url))) as client:
        [card] = msc_cards(client.post("/cds-services/ms-order-sign", json=body))
        chosen = [s["uuid"] for s in card["suggestions"][:2]]
        accepted = {
            "card": card["uuid"],
            "outcome": "accepted",
            "outcomeTimestamp": TIMESTAMP,
            "acceptedSuggestions": [{"id": u} for u in chosen],
        }
        answer = client.post("/cds-services/ms-order-sign/feedback", json={"feedback": [accepted]})
        assert answer.json() == {"received": 1, "stored": 1, "duplicates": 0, "unknownCards": 0}
        [again] = msc_cards(client.post("/cds-services/ms-order-sign", json=body))
        overridden = {
            "card": again["uuid"],
            "outcome": "overridden",
            "outcomeTimestamp": TIMESTAMP,
            "overrideReason": reason("registeredTrial"),
        }
        answer = client.post(
            "/cds-services/ms-order-sign/feedback", json={"feedback": [overridden]}
        )
        assert answer.json()["unknownCards"] == 0
    ledger = [r for r in rows(sqlite_url, card_ledger) if r["topic"] == "mscWarning"]
    assert sorted(r["card_uuid"] for r in ledger) == sorted([card["uuid"], again["uuid"]])
    stored = {r["card_uuid"]: r for r in rows(sqlite_url, feedback)}
    assert sorted(stored[card["uuid"]]["accepted_suggestions"]) == sorted(chosen)
    assert stored[again["uuid"]]["outcome"] == "overridden"
