"""Regressions found by fuzzing the request body: each once answered 500."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cds_service.body import clean_json
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


def test_lone_surrogates_are_replaced_in_keys_and_lists() -> None:
    """Lone surrogates in keys and list items become U+FFFD; valid text is untouched."""
    value = clean_json(json.loads('{"k\\udc00": ["\\ud800x", "caf\\u00e9", {"a": "\\udfff"}]}'))
    assert value == {"k\ufffd": ["\ufffdx", "caf\u00e9", {"a": "\ufffd"}]}
    assert clean_json("\ud800") == "\ufffd"


def test_fetched_fhir_data_has_lone_surrogates_replaced() -> None:
    """A FHIR server's `"\\ud800"` escape (once a 500 when quoted in a card) becomes U+FFFD."""
    from cds_service.fetch.client import FetchLimits, _parse

    raw = b'{"resourceType": "Condition", "id": "c\\ud800"}'
    data = _parse(raw, "application/fhir+json", FetchLimits())
    assert data["id"] == "c\ufffd"


@pytest.mark.parametrize(
    "raw",
    [b'{"hook": 1' + b"0" * 5000 + b"}", b'{"hook": "\xff"}', b"[" * 100_000 + b"]" * 100_000],
    ids=["huge-integer", "invalid-utf8", "deep"],
)
def test_cli_evaluate_reports_unreadable_json(tmp_path: Path, raw: bytes) -> None:
    """`ms-cds evaluate` on such a file (once a traceback) says it is not valid JSON, exit 2."""
    from typer.testing import CliRunner

    from cds_service.cli import app

    path = tmp_path / "request.json"
    path.write_bytes(raw)
    result = CliRunner().invoke(app, ["evaluate", str(path)])
    assert result.exit_code == 2, result.output
    assert "not valid JSON" in result.output
