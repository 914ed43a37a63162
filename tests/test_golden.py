"""Golden files: each tests/data/golden/*.json holds a request and the exact cards expected.

File format: {"description", "service", "today" (YYYY-MM-DD), "request", "expected"}.
Card and suggestion uuids are compared as "<uuid>". Regenerate after a deliberate
content change with `UPDATE_GOLDEN=1 pytest tests/test_golden.py` and review the diff.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

GOLDEN_DIR = Path(__file__).parent / "data" / "golden"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def normalise(value: Any) -> Any:
    """Replace generated uuids (checked to be v4) by a placeholder."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "uuid":
                assert isinstance(item, str) and UUID.match(item), f"bad uuid {item!r}"
                out[key] = "<uuid>"
            else:
                out[key] = normalise(item)
        return out
    if isinstance(value, list):
        return [normalise(v) for v in value]
    return value


CASES = sorted(GOLDEN_DIR.glob("*.json"))


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_golden(path: Path, app_factory: Callable[..., FastAPI]) -> None:
    """The service answers the golden request with exactly the golden cards."""
    case = json.loads(path.read_text(encoding="utf-8"))
    app = app_factory(today=date.fromisoformat(case["today"]))
    with TestClient(app) as client:
        response = client.post(f"/cds-services/{case['service']}", json=case["request"])
    assert response.status_code == 200, response.text
    actual = normalise(response.json())
    if os.environ.get("UPDATE_GOLDEN"):
        case["expected"] = actual
        path.write_text(json.dumps(case, indent=2) + "\n", encoding="utf-8")
    assert actual == case["expected"]
