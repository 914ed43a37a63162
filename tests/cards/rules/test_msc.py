"""mscWarning at rule and render level: one card per response, one removal per draft."""

from __future__ import annotations

from typing import Any

import pytest

from cards.config import RuleConfig
from cards.content import content
from cards.decision import Decision, RuleInput
from cards.render import EXPLANATION_KEY
from cards.render_orders import render_msc
from cards.rules.msc import MAX_LISTED_ORDERS, msc_warning
from cds_hooks import Card
from fhir_mappings.facts import DraftOrder, MsCourse, OrderKind, OrderReason, PatientFacts
from tests.cards.factbuilders import TODAY, ms
from tests.harness import card_deletes

CONFIG = RuleConfig()


def msc(oid: str, **extra: Any) -> DraftOrder:
    fields: dict[str, Any] = {
        "ref": f"MedicationRequest/{oid}",
        "resource_type": "MedicationRequest",
        "kind": OrderKind.MSC,
        "matched_by": "text /mesenchymal/",
        "sources": (f"MedicationRequest/{oid}",),
    }
    fields.update(extra)
    return DraftOrder(**fields)


def hsct(oid: str) -> DraftOrder:
    return DraftOrder(
        ref=f"ServiceRequest/{oid}",
        resource_type="ServiceRequest",
        kind=OrderKind.HSCT,
        matched_by="text /haematopoietic/",
        sources=(f"ServiceRequest/{oid}",),
    )


def decide(
    orders: tuple[DraftOrder, ...], hook: str = "order-sign", facts: PatientFacts | None = None
) -> list[Decision]:
    facts = facts or ms()
    return msc_warning(RuleInput(hook, facts, orders, CONFIG, TODAY))


def card_of(decisions: list[Decision]) -> dict[str, Any]:
    assert len(decisions) == 1
    card: Card = render_msc(decisions[0], CONFIG)
    dumped: dict[str, Any] = card.model_dump(mode="json", exclude_none=True)
    return dumped


def test_several_msc_orders_make_one_card_with_one_removal_each() -> None:
    """Three MSC drafts: one critical card, counted in the summary, three removals."""
    card = card_of(decide((msc("a"), msc("b"), msc("c"))))
    assert card["indicator"] == "critical"
    assert card["summary"].startswith("3 MSC infusion orders. ")
    assert len(card["summary"]) < 140
    assert card_deletes(card) == [f"MedicationRequest/{x}" for x in "abc"]
    assert all(len(s["actions"]) == 1 for s in card["suggestions"])
    assert card["selectionBehavior"] == "any"
    labels = [s["label"] for s in card["suggestions"]]
    assert len(set(labels)) == 3  # each removal names its own order
    uuids = [card["uuid"], *(s["uuid"] for s in card["suggestions"])]
    assert len(set(uuids)) == 4
    for number, ref in enumerate(card_deletes(card), start=1):
        assert f"**Order {number} of 3:** {ref}," in card["detail"]


def test_one_msc_order_keeps_the_one_order_card() -> None:
    """A single order: today's summary, 'This order' line and flat explanation."""
    card = card_of(decide((msc("a"),)))
    text = content("mscWarning")
    assert card["summary"] == text["summary"]
    assert "- **This order:** MedicationRequest/a," in card["detail"]
    assert [s["label"] for s in card["suggestions"]] == [text["suggestion_label"]]
    facts = card["extension"][EXPLANATION_KEY]["facts"]
    assert facts["order"] == "MedicationRequest/a"
    assert "orders" not in facts


def test_each_order_keeps_its_own_evidence_in_the_explanation() -> None:
    """Per order: matched-by, product, stated reason, judged-by-display, as for one order."""
    orders = (
        msc("a", reason=OrderReason.MS),
        msc("b", msc_product="msc-derived", reason=OrderReason.NON_MS),
        msc("c", judged_by_display=True, medication_unread="not in the request"),
    )
    card = card_of(decide(orders))
    facts = card["extension"][EXPLANATION_KEY]["facts"]
    assert facts["orderCount"] == 3
    a, b, c = facts["orders"]
    assert a == {
        "order": "MedicationRequest/a",
        "orderMatchedBy": "text /mesenchymal/",
        "msEvidence": "order reason is MS",
    }
    assert b["orderProduct"] == "msc-derived"
    assert b["statedReason"] == "not MS and not a recognised MSC indication"
    assert b["msEvidence"] == "current MS diagnosis"
    assert c["orderJudgedBy"].startswith("medicationReference.display")
    assert c["medicationUnavailable"] == "not in the request"
    assert facts["msDiagnoses"] == ["t"]
    assert "msc-derived (MedicationRequest/b)" in card["detail"]
    assert card["detail"].count(content("mscWarning")["ms_reason_line_several"]) == 1


def test_hsct_and_silenced_orders_are_never_listed() -> None:
    """HSCT orders and MSC orders with a recognised indication are left off the card."""
    orders = (msc("a"), hsct("h"), msc("g", msc_indication="gvhd"), msc("b"))
    card = card_of(decide(orders))
    assert card_deletes(card) == ["MedicationRequest/a", "MedicationRequest/b"]
    assert "ServiceRequest/h" not in str(card)
    assert "MedicationRequest/g" not in str(card)


def test_hsct_only_gives_no_card() -> None:
    """No MSC order among the judged: no decision at all."""
    assert decide((hsct("h1"), hsct("h2"))) == []


def test_patient_view_lists_open_orders_and_removes_only_drafts() -> None:
    """At patient-view every open MSC order is listed; only the draft ones are removable."""
    orders = (msc("d1", status="draft"), msc("x", status="active"), msc("d2", status="draft"))
    card = card_of(decide((), hook="patient-view", facts=ms(msc_orders=orders)))
    assert card["summary"].startswith("3 MSC infusion orders. ")
    assert card_deletes(card) == ["MedicationRequest/d1", "MedicationRequest/d2"]
    assert "**In the record:** active; not a draft" in card["detail"]
    facts = card["extension"][EXPLANATION_KEY]["facts"]
    assert [o["orderInRecord"] for o in facts["orders"]] == [
        {"status": "draft"},
        {"status": "active"},
        {"status": "draft"},
    ]


def test_patient_view_with_no_draft_offers_no_removal() -> None:
    """Several active MSC orders in the record: one card, no delete suggestion at all."""
    orders = (msc("x", status="active"), msc("y", status="on-hold"))
    card = card_of(decide((), hook="patient-view", facts=ms(msc_orders=orders)))
    assert card_deletes(card) == []
    assert "suggestions" not in card and "selectionBehavior" not in card


def test_alternatives_appear_once_after_the_removals() -> None:
    """The alternatives (here ocrelizumab for PPMS) are offered once, after the removals."""
    facts = ms(course=MsCourse.PRIMARY_PROGRESSIVE)
    orders = tuple(msc(f"o{i}") for i in range(4))
    one = card_of(decide(orders[:1], facts=facts))
    several = card_of(decide(orders, facts=facts))
    alternatives = [s["label"] for s in one["suggestions"] if s["actions"][0]["type"] != "delete"]
    assert alternatives and "ocrelizumab" in alternatives[0]
    types = [s["actions"][0]["type"] for s in several["suggestions"]]
    assert types == ["delete"] * 4 + ["create"] * len(alternatives)
    assert [s["label"] for s in several["suggestions"][4:]] == alternatives
    facts_out = several["extension"][EXPLANATION_KEY]["facts"]
    assert facts_out["alternatives"] == ["PPMS not on ocrelizumab"]


def test_duplicate_references_get_one_removal() -> None:
    """Two drafts with the same reference: one removal suggestion for it."""
    card = card_of(decide((msc("a"), msc("a"), msc("b"))))
    assert card_deletes(card) == ["MedicationRequest/a", "MedicationRequest/b"]


@pytest.mark.parametrize("count", [MAX_LISTED_ORDERS, MAX_LISTED_ORDERS + 7])
def test_a_card_lists_at_most_the_allowed_orders(count: int) -> None:
    """Beyond MAX_LISTED_ORDERS the card still counts every order but lists only the cap."""
    orders = tuple(msc(f"o{i}") for i in range(count))
    card = card_of(
        decide(
            (),
            hook="patient-view",
            facts=ms(msc_orders=tuple(o.model_copy(update={"status": "draft"}) for o in orders)),
        )
    )
    assert card["summary"].startswith(f"{count} MSC infusion orders. ")
    assert len(card["summary"]) < 140
    assert len(card_deletes(card)) == MAX_LISTED_ORDERS
    facts = card["extension"][EXPLANATION_KEY]["facts"]
    assert len(facts["orders"]) == MAX_LISTED_ORDERS
    assert facts.get("ordersNotListed", 0) == count - MAX_LISTED_ORDERS
    if count > MAX_LISTED_ORDERS:
        assert f"- {count - MAX_LISTED_ORDERS} more MSC orders are not listed" in card["detail"]


def test_several_order_summary_stays_under_140_for_any_plausible_count() -> None:
    """The count summary fits the CDS Hooks limit even for a five-digit count."""
    assert len(content("mscWarning")["summary_several"].format(count=99_999)) < 140
