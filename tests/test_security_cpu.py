"""Issue 17 finding 3: the work of one request is bounded. Each free text is matched up to
CDS_MAX_MATCHED_TEXT_CHARS, a large body is read off the event loop, draft orders and
resources per request are capped (413), and a response holds a bounded number of cards
and bytes (the most severe kept)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from cds_hooks import Card, Source, dump
from cds_service import pipeline
from cds_service.pipeline import bound_cards
from fhir_mappings.reader import Resources
from fhir_mappings.textcap import folded_part, matched_text_limit
from fhir_mappings.valuesets import ValueSet
from tests.builders import condition, hook_request, med_request, ms_condition
from tests.conftest import make_settings
from tests.records import edss, facts_of, observation, procedure

PATIENT_VIEW = "/cds-services/ms-patient-view"
ORDER_SIGN = "/cds-services/ms-order-sign"
# The red team's body: one Condition whose text is 4.5 MB of "ms ms ms ...".
HUGE_TEXT = "ms " * 1_500_000


def diagnostics(response: Any) -> str:
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    return " | ".join(issue["diagnostics"] for issue in body["issue"])


@pytest.fixture
def matched_lengths(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The length of every text the value sets match, as they see it."""
    seen: list[int] = []
    prepare = ValueSet._prepared

    def spy(self: ValueSet, text: str) -> tuple[str, str]:
        prepared = prepare(self, text)
        seen.append(len(prepared[0]))
        return prepared

    monkeypatch.setattr(ValueSet, "_prepared", spy)
    yield seen


def test_a_huge_condition_text_is_matched_only_up_to_the_limit(
    client: TestClient, matched_lengths: list[int]
) -> None:
    """A 4.5 MB Condition text is matched on its first CDS_MAX_MATCHED_TEXT_CHARS only."""
    body = hook_request("patient-view", conditions=[ms_condition(), condition("x", text=HUGE_TEXT)])
    assert client.post(PATIENT_VIEW, json=body).status_code == 200
    assert matched_lengths and max(matched_lengths) <= 2048


def test_the_limit_is_a_setting_and_text_beyond_it_is_not_read(
    app_factory: Callable[..., FastAPI],
) -> None:
    """An MSC order named only past the limit is not read as MSC; within it, it is."""
    filler = "Infusion order with a long free-text preamble. " * 30  # ~1,400 characters
    late = med_request("d1", text=filler + "Mesenchymal stem cell infusion")
    body = hook_request("order-sign", [late], conditions=[ms_condition()])
    for limit, expected in ((1024, 0), (2048, 1)):
        app = app_factory(make_settings(max_matched_text_chars=limit))
        with TestClient(app) as client:
            cards = client.post(ORDER_SIGN, json=body).json()["cards"]
        msc = [c for c in cards if c["source"].get("topic", {}).get("code") == "mscWarning"]
        assert len(msc) == expected, limit


def test_a_large_body_is_read_off_the_event_loop(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request body of 256 KiB or more is judged and mapped in the CPU pool."""
    threads: list[str] = []
    for name in ("judge", "conclude"):
        original = getattr(pipeline, name)

        def spy(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
            threads.append(threading.current_thread().name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(pipeline, name, spy)
    body = hook_request("patient-view", conditions=[ms_condition(), condition("x", text=HUGE_TEXT)])
    assert client.post(PATIENT_VIEW, json=body).status_code == 200
    assert threads and all(t.startswith("ms-cds-cpu") for t in threads), threads


def test_too_many_draft_orders_is_a_413(app_factory: Callable[..., FastAPI]) -> None:
    """More draft orders than CDS_MAX_DRAFT_ORDERS: 413 naming context.draftOrders; the
    limit itself is served."""
    app = app_factory(make_settings(max_draft_orders=20))
    drafts = [med_request(f"d{i}", "Mesenchymal stem cell infusion") for i in range(21)]
    with TestClient(app) as client:
        refused = client.post(ORDER_SIGN, json=hook_request("order-sign", drafts))
        served = client.post(ORDER_SIGN, json=hook_request("order-sign", drafts[:20]))
    assert refused.status_code == 413, refused.text
    assert "context.draftOrders: 21 entries; at most 20" in diagnostics(refused)
    assert served.status_code == 200


def test_the_red_team_order_sign_is_refused_at_once(client: TestClient) -> None:
    """20,000 MSC orders in one order-sign (once 5 s and 56 MB): a 413 by default."""
    drafts = [med_request(f"d{i}", "MSC") for i in range(20_000)]
    response = client.post(ORDER_SIGN, json=hook_request("order-sign", drafts))
    assert response.status_code == 413
    assert "CDS_MAX_DRAFT_ORDERS" in diagnostics(response)


def test_too_many_resources_is_a_413(app_factory: Callable[..., FastAPI]) -> None:
    """More resources sent than CDS_MAX_RESOURCES (Bundle entries one each): 413."""
    app = app_factory(make_settings(max_resources=100))
    many = [ms_condition()] + [condition(f"c{i}", "1") for i in range(100)]
    with TestClient(app) as client:
        response = client.post(PATIENT_VIEW, json=hook_request("patient-view", conditions=many))
        fewer = client.post(PATIENT_VIEW, json=hook_request("patient-view", conditions=many[:90]))
    assert response.status_code == 413, response.text
    assert "at most 100 (CDS_MAX_RESOURCES)" in diagnostics(response)
    assert fewer.status_code == 200


def test_response_holds_at_most_max_cards(app_factory: Callable[..., FastAPI]) -> None:
    """More cards than CDS_MAX_CARDS: the response holds that many (the critical MSC card
    first), and the ledger only those returned."""
    app = app_factory(make_settings(max_cards=3, ledger_write_interval_seconds=0))
    drafts = [med_request(f"d{i}", "Mesenchymal stem cell infusion") for i in range(2)]
    drafts += [med_request(f"n{i}", "Tysabri 300 mg IV") for i in range(5)]  # a check each
    body = hook_request("order-sign", drafts, conditions=[ms_condition()])
    with TestClient(app) as client:
        recorded: list[int] = []
        storage = app.state.runtime.storage
        original = storage.record_cards
        storage.record_cards = lambda *a, **k: (recorded.append(len(a[3])), original(*a, **k))
        cards = client.post(ORDER_SIGN, json=body).json()["cards"]
    assert len(cards) == 3
    assert [c["source"]["topic"]["code"] for c in cards[:2]] == ["mscWarning", "dmtOrderCheck"]
    assert cards[0]["summary"].startswith("2 MSC infusion orders. ")
    assert recorded == [3]


def card(indicator: str, summary: str, detail: str = "") -> Card:
    return Card(
        summary=summary,
        indicator=indicator,  # type: ignore[arg-type]
        source=Source(label="test"),
        detail=detail or None,
    )


def test_bound_cards_keeps_the_most_severe_in_order() -> None:
    """Beyond the card limit the most severe are kept, each in its original order; beyond
    the byte limit the least severe go first, and one card always stays."""
    cards = [card("info", "i1"), card("critical", "c1"), card("warning", "w1")]
    cards += [card("critical", "c2"), card("info", "i2")]
    dumped = [dump(c) for c in cards]
    kept = bound_cards(cards, dumped, 3, 1_000_000)
    assert [cards[i].summary for i in kept] == ["c1", "w1", "c2"]
    big = [card("critical", "c", "x" * 5000), card("warning", "w", "y" * 5000)]
    big_dumped = [dump(c) for c in big]
    assert bound_cards(big, big_dumped, 10, 8000) == [0]
    assert bound_cards(big, big_dumped, 10, 100) == [0]


def test_every_reading_of_a_text_stops_at_the_limit() -> None:
    """Exclusion words ("allogeneic") past CDS_MAX_MATCHED_TEXT_CHARS are not read either:
    within the limit they exclude a prior AHSCT; past it they change nothing."""
    filler = "Transplant course notes. " * 90  # ~2,250 characters
    late = procedure("p", "Autologous HSCT. " + filler + "Allogeneic HSCT")
    early = procedure("p", "Autologous HSCT. Allogeneic HSCT. " + filler)
    assert [p.source for p in facts_of(late).prior_ahsct] == ["Procedure/p"]
    assert not facts_of(early).prior_ahsct


# Spaces, other whitespace (a no-break space, a line separator, a file separator: what
# str.split() splits on) and a zero-width space (which it does not), with letters.
@given(
    st.text(alphabet=" \t\nab\xa0\u2028\x1c\u200b", max_size=300),
    st.integers(min_value=1, max_value=40),
)
def test_a_folded_text_is_the_whole_text_folded_then_cut(text: str, limit: int) -> None:
    """Folding only as much of a long text as the limit needs, or nothing of a text with
    nothing to fold, gives the whole text folded then cut."""
    with matched_text_limit(limit):
        assert folded_part(text) == " ".join(text.split())[:limit]


def test_a_concept_text_and_an_edss_value_are_read_up_to_the_limit() -> None:
    """A concept's text is kept up to the limit; an EDSS score written past it is not read."""
    long_name = "Expanded disability status scale " + "note " * 1000
    with matched_text_limit(64):
        concept = Resources([observation("o", long_name)]).all[0].concept("code")
    assert [len(t) for t in concept.texts] == [64]
    filler = "x" * 2100
    late = edss("e", None, valueString=filler + " 3.5")
    early = edss("e", None, valueString="3.5 " + filler)
    assert [e.score for e in facts_of(early).edss] == [3.5]
    assert not facts_of(late).edss
