"""ms-cds evaluate: the cards for a request file, as a table or as exact JSON."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cds_service.cli import app

EXAMPLE = Path(__file__).parents[3] / "examples" / "order-select-msc.json"
runner = CliRunner()


def test_evaluate_prints_a_table() -> None:
    """The default output is a human table naming the topic."""
    result = runner.invoke(app, ["evaluate", str(EXAMPLE), "--today", "2026-11-25"])
    assert result.exit_code == 0, result.output
    assert "mscWarning" in result.output and "critical" in result.output


def test_evaluate_json_is_the_exact_response() -> None:
    """--json prints the response body the HTTP service would return."""
    result = runner.invoke(app, ["evaluate", str(EXAMPLE), "--json", "--today", "2026-11-25"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert [c["source"]["topic"]["code"] for c in body["cards"]] == ["mscWarning"]


def test_evaluate_bad_request_prints_outcome_and_fails(tmp_path: Path) -> None:
    """A request the service would refuse prints the OperationOutcome and exits non-zero."""
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"hook": "order-select"}), encoding="utf-8")
    result = runner.invoke(app, ["evaluate", str(bad)])
    assert result.exit_code == 1
    assert "OperationOutcome" in result.output and "hookInstance" in result.output


def test_evaluate_invalid_json_fails_cleanly(tmp_path: Path) -> None:
    """A file that is not JSON exits 2 with a message, not a traceback."""
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    result = runner.invoke(app, ["evaluate", str(bad)])
    assert result.exit_code == 2 and "not valid JSON" in result.output
