"""The HTTP edge decodes with orjson: every malformed body is a 400 OperationOutcome."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.builders import hook_request


@pytest.mark.parametrize(
    "body",
    [b"{", b"\xff\xfe", b'{"hook": NaN}', b"[" * 2000 + b"]" * 2000, b'{"a": "\\ud800"}'],
    ids=["truncated", "not-utf8", "nan", "too-deep", "lone-surrogate"],
)
def test_malformed_json_is_400(client: TestClient, body: bytes) -> None:
    """Truncated, non-UTF-8, NaN, over-deep and lone-surrogate bodies get 400, never 500."""
    response = client.post(
        "/cds-services/ms-order-select", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"
    assert response.json()["issue"][0]["diagnostics"] == "the request body is not valid JSON"


def test_response_is_compact_utf8_json(client: TestClient) -> None:
    """A normal call answers application/json that decodes to {"cards": [...]}."""
    response = client.post("/cds-services/ms-patient-view", json=hook_request("patient-view"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"cards": []}
