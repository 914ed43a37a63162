"""Issue 17 #1 and #5: nothing a caller sends is kept between requests."""

from __future__ import annotations

import gc
import tracemalloc
from typing import Any

from fastapi.testclient import TestClient

from tests.builders import condition, med_request, ms_condition
from tests.builders import hook_request as build

MSC = med_request("msc-1", text="Autologous mesenchymal stem cell infusion")


def _topics(client: TestClient, body: dict[str, Any]) -> list[str]:
    response = client.post("/cds-services/ms-order-select", json=body)
    assert response.status_code == 200, response.text
    return [card["source"]["topic"]["code"] for card in response.json()["cards"]]


def test_an_empty_record_sent_first_never_suppresses_the_msc_warning(client: TestClient) -> None:
    """A call with the same request but an empty record cannot plant anything that hides
    the MSC warning from the next, real call (the facts-cache poisoning of issue 17 #1)."""
    real = build("order-select", drafts=[MSC], conditions=[ms_condition()])
    planted = build("order-select", drafts=[MSC])
    assert _topics(client, real) == ["mscWarning"]
    for _ in range(3):
        assert _topics(client, planted) == []
        assert _topics(client, real) == ["mscWarning"]


def _large_text_call(index: int) -> dict[str, Any]:
    # A distinct ~200 KB free text on every call: a memo of texts would keep each one.
    text = f"note {index} " + "multiple sclerosis follow-up " * 7000
    return build(
        "order-select",
        drafts=[MSC],
        conditions=[ms_condition(), condition(f"c-{index}", "73211009", text=text)],
    )


def test_distinct_large_texts_leave_memory_flat(client: TestClient) -> None:
    """100 calls with distinct large clinical texts keep no text after their request: the
    Python heap grows by far less than one text (issue 17 #5: a text memo kept them all)."""
    for index in range(5):  # warm: imports, lazily built matchers, pools
        _topics(client, _large_text_call(-1 - index))
    gc.collect()
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        for index in range(100):
            assert _topics(client, _large_text_call(index)) == ["mscWarning"]
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    one_text = len("multiple sclerosis follow-up " * 7000)
    # Kept texts would be 100 x ~200 KB = ~20 MB; the ledger's buffered rows and the
    # like stay far below one text.
    assert after - before < one_text, f"grew by {after - before} bytes over 100 calls"
