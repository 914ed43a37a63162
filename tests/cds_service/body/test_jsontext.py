"""The HTTP edge decodes with orjson (every malformed body a 400); the fast depth check."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from cds_service.body import decode_json, json_depth
from tests.builders import hook_request


@pytest.mark.parametrize(
    "body", [b"{", b"\xff\xfe", b"{hook: 1}"], ids=["truncated", "not-utf8", "bare-word"]
)
def test_malformed_json_is_400(client: TestClient, body: bytes) -> None:
    """Truncated, non-UTF-8 and non-JSON bodies get 400 OperationOutcome, never 500."""
    response = client.post(
        "/cds-services/ms-order-select", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"
    assert response.json()["issue"][0]["diagnostics"] == "the request body is not valid JSON"


def test_json_orjson_refuses_is_read_as_before() -> None:
    """Lone surrogate escapes (cleaned to U+FFFD) and NaN decode as the stdlib reads them."""
    assert decode_json(b'{"a": "x\\ud800"}') == {"a": "x\ufffd"}
    assert math.isnan(decode_json(b'{"v": NaN}')["v"])


def test_response_is_compact_utf8_json(client: TestClient) -> None:
    """A normal call answers application/json that decodes to {"cards": [...]}."""
    response = client.post("/cds-services/ms-patient-view", json=hook_request("patient-view"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"cards": []}


TRICKY_TEXT = st.text(alphabet='\\"[]{}a\n', max_size=12)
TRICKY_VALUES = st.recursive(
    st.none() | TRICKY_TEXT,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(TRICKY_TEXT, children, max_size=4)
    ),
    max_leaves=25,
)


def _depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(x) for x in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(x) for x in value.values()), default=0)
    return 0


@settings(deadline=None, max_examples=300)
@given(TRICKY_VALUES)
def test_json_depth_with_escapes_and_brackets_in_strings(value: Any) -> None:
    """Brackets, quotes and runs of backslashes inside strings never change the depth found."""
    raw = json.dumps(value).encode()
    for limit in (0, 1, 2, 3, 4):
        assert (json_depth(raw, limit) > limit) == (_depth(value) > limit)
