"""Regressions found by fuzzing the request body: each once answered 500."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from cds_service.jsonbody import MAX_DEPTH, decode_json
from tests import builders as b

URL = "/cds-services/ms-order-select"
JSON = {"content-type": "application/json"}


def msc_request(**order_extra: Any) -> dict[str, Any]:
    order = b.med_request("msc-1", text="Mesenchymal stromal cells", **order_extra)
    return b.hook_request("order-select", drafts=[order], conditions=[b.ms_condition()])


def topics(response: Any) -> list[str]:
    return [card["source"]["topic"]["code"] for card in response.json()["cards"]]


def test_integer_beyond_python_digit_limit_is_a_400(client: TestClient) -> None:
    """An integer of 5,000 digits (a ValueError in json.loads, not a JSONDecodeError) is a 400."""
    raw = b'{"hook": 1' + b"0" * 5000 + b"}"
    response = client.post(URL, content=raw, headers=JSON)
    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"


def test_lone_surrogate_in_an_id_still_gives_the_card(client: TestClient) -> None:
    """A lone UTF-16 surrogate in an order id is replaced consistently and the card is sent."""
    body = msc_request()
    text = json.dumps(body).replace("msc-1", "msc\\ud800")
    response = client.post(URL, content=text.encode(), headers=JSON)
    assert response.status_code == 200
    assert topics(response) == ["mscWarning"]
    assert "MedicationRequest/msc\ufffd" in response.text


def test_deep_nesting_inside_a_resource_is_read(client: TestClient) -> None:
    """An invalid resource with 120 nested extensions is repaired without a RecursionError."""
    body = msc_request(extension=["@@"], authoredOn=5)
    ext = '{"url":"x","extension":[' * 120 + '{"url":"y","valueString":"z"}' + "]}" * 120
    raw = json.dumps(body).replace('"@@"', ext).encode()
    response = client.post(URL, content=raw, headers=JSON)
    assert response.status_code == 200
    assert topics(response) == ["mscWarning"]


def test_nesting_beyond_the_limit_is_pruned_and_the_card_sent(client: TestClient) -> None:
    """A junk element nested 600 deep (once a 500) is dropped; the MSC warning still comes."""
    body = msc_request(note=["@@"])
    raw = json.dumps(body).replace('"@@"', "[" * 600 + "]" * 600).encode()
    response = client.post(URL, content=raw, headers=JSON)
    assert response.status_code == 200
    assert topics(response) == ["mscWarning"]


def test_body_nested_past_the_parser_limit_is_a_400(client: TestClient) -> None:
    """A body nested 100,000 deep is a 400 OperationOutcome."""
    response = client.post(URL, content=b"[" * 100_000 + b"]" * 100_000, headers=JSON)
    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"


def test_decode_json_prunes_below_max_depth() -> None:
    """MAX_DEPTH levels are kept; anything deeper becomes null."""
    kept = decode_json(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH)
    pruned = decode_json(b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1))
    for _ in range(MAX_DEPTH - 1):
        kept, pruned = kept[0], pruned[0]
    assert kept == [] and pruned == [None]


def test_decode_json_cleans_surrogates_in_keys_and_lists() -> None:
    """Lone surrogates in keys and list items become U+FFFD; valid text is untouched."""
    value = decode_json(b'{"k\\udc00": ["\\ud800x", "caf\\u00e9"]}')
    assert value == {"k\ufffd": ["\ufffdx", "caf\u00e9"]}
