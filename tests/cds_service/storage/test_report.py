"""Override analytics: figures on a known data set, the CLI and GET /analytics/cards."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cds_hooks import parse_feedback
from cds_service.cli import app as cli
from cds_service.storage.feedback_store import save_feedback
from cds_service.storage.ledger import CardLedger, LedgerEntry
from cds_service.storage.report import card_report
from tests.cds_service.storage.test_ledger import entry
from tests.conftest import make_settings
from tests.storage_helpers import item, migrated, reason

SYSTEM = "urn:test:override-reason"


def at(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T12:00:00+00:00")


def load_data_set(url: str) -> None:
    """4 mscWarning cards (one old), 2 ahsctReferral cards, and feedback incl. unknown card."""
    with migrated(url) as engine:
        ledger = CardLedger(engine)
        ledger.record(
            [
                _issued("m0", "mscWarning", "2026-10-01"),
                _issued("m1", "mscWarning", "2026-11-20"),
                _issued("m2", "mscWarning", "2026-11-20"),
                _issued("m3", "mscWarning", "2026-11-20"),
                _issued("a1", "ahsctReferral", "2026-11-24"),
                _issued("a2", "ahsctReferral", "2026-11-24"),
            ]
        )
        assert ledger.close(timeout=5) == 0
        batches: list[tuple[str, list[dict[str, Any]]]] = [
            ("2026-10-02", [item("m0", overrideReason={"userComment": "old comment"})]),
            (
                "2026-11-21",
                [
                    item(
                        "m1", overrideReason=reason("trial", "in NCT01234", "In a clinical trial")
                    ),
                    item("m2", overrideReason=reason("trial")),
                    item("m3", overrideReasons=[reason("declined", display="Patient declined")]),
                ],
            ),
            (
                "2026-11-25",
                [
                    item("a1", "accepted"),
                    item("x-unknown", overrideReason=reason("trial", "who issued this?")),
                ],
            ),
        ]
        for day, items in batches:
            save_feedback(
                engine, "ms-order-select", parse_feedback({"feedback": items}, 100), at(day)
            )


def _issued(uuid: str, topic: str, day: str) -> LedgerEntry:
    return replace(entry(uuid, topic), issued_at=at(day))


TRIAL = {"system": SYSTEM, "code": "trial", "display": "In a clinical trial"}
DECLINED = {"system": SYSTEM, "code": "declined", "display": "Patient declined"}

EXPECTED_ALL = {
    "since": None,
    "topics": [
        {
            "topic": "ahsctReferral",
            "cardsIssued": 2,
            "feedbackReceived": 1,
            "accepted": 1,
            "overridden": 0,
            "overrideReasons": [],
            "comments": 0,
        },
        {
            "topic": "mscWarning",
            "cardsIssued": 4,
            "feedbackReceived": 4,
            "accepted": 0,
            "overridden": 4,
            "overrideReasons": [{**TRIAL, "count": 2}, {**DECLINED, "count": 1}],
            "comments": 2,
        },
    ],
    "unknownCards": {
        "feedbackReceived": 1,
        "accepted": 0,
        "overridden": 1,
        "overrideReasons": [{**TRIAL, "display": None, "count": 1}],
        "comments": 1,
    },
}


@pytest.fixture
def loaded(db_url: str) -> Iterator[str]:
    load_data_set(db_url)
    yield db_url


def test_report_figures_on_a_known_data_set(loaded: str) -> None:
    """Per topic: issued, feedback, accepted, overridden, reasons by count, comments."""
    with migrated(loaded) as engine:
        assert card_report(engine) == EXPECTED_ALL


def test_report_since_filters_cards_and_feedback(loaded: str) -> None:
    """--since counts cards issued and feedback received from that instant on."""
    with migrated(loaded) as engine:
        figures = card_report(engine, datetime(2026, 11, 1, tzinfo=UTC))
    msc = figures["topics"][1]
    assert (msc["topic"], msc["cardsIssued"], msc["feedbackReceived"], msc["comments"]) == (
        "mscWarning",
        3,
        3,
        1,
    )
    assert figures["topics"][0] == EXPECTED_ALL["topics"][0]
    assert figures["unknownCards"] == EXPECTED_ALL["unknownCards"]
    assert figures["since"] == "2026-11-01T00:00:00+00:00"


def test_cli_report_json_and_table(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """`ms-cds report --json` prints the figures; the table lists topics and reasons."""
    load_data_set(sqlite_url)
    monkeypatch.setenv("CDS_DATABASE_URL", sqlite_url)
    runner = CliRunner()
    as_json = runner.invoke(cli, ["report", "--json"])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.output) == EXPECTED_ALL
    since = runner.invoke(cli, ["report", "--json", "--since", "2026-11-01"])
    assert json.loads(since.output)["topics"][1]["cardsIssued"] == 3
    table = runner.invoke(cli, ["report"], env={"COLUMNS": "200"})
    assert table.exit_code == 0
    for text in ("mscWarning", "ahsctReferral", "(unknown card)", "In a clinical trial: 2"):
        assert text in table.output
    bad = runner.invoke(cli, ["report", "--since", "last week"])
    assert bad.exit_code == 2


def test_cli_db_upgrade_creates_the_schema(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ms-cds db upgrade` migrates an empty database to head; `db current` says so."""
    monkeypatch.setenv("CDS_DATABASE_URL", sqlite_url)
    runner = CliRunner()
    before = runner.invoke(cli, ["db", "current"])
    assert "empty" in before.output
    upgraded = runner.invoke(cli, ["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    assert "at revision 0002" in upgraded.output
    assert "0002 (code: 0002)" in runner.invoke(cli, ["db", "current"]).output
    report = runner.invoke(cli, ["report", "--json"])
    assert json.loads(report.output)["topics"] == []


def test_cli_report_database_down(monkeypatch: pytest.MonkeyPatch) -> None:
    """`ms-cds report` with no reachable database exits 1 with a short message."""
    monkeypatch.setenv("CDS_DATABASE_URL", "sqlite:////nonexistent-dir/ms-cds/x.sqlite3")
    result = CliRunner().invoke(cli, ["report"])
    assert result.exit_code == 1
    assert "database unavailable" in result.output


# --- GET /analytics/cards --------------------------------------------------------------


def analytics(app: FastAPI, **headers: str) -> Any:
    with TestClient(app) as client:
        return client.get("/analytics/cards", headers=headers)


def test_analytics_is_404_without_an_admin_token(
    sqlite_url: str, app_factory: Callable[..., FastAPI]
) -> None:
    """With no CDS_ADMIN_TOKEN configured the endpoint does not exist."""
    app = app_factory(make_settings(database_url=sqlite_url, admin_token=None))
    response = analytics(app, authorization="Bearer anything")
    assert response.status_code == 404


@pytest.mark.parametrize(
    "header", [None, "Bearer wrong", "Basic c2VjcmV0", "Bearer", "bearer s3cret-token-x"]
)
def test_analytics_rejects_a_wrong_token(
    header: str | None, sqlite_url: str, app_factory: Callable[..., FastAPI]
) -> None:
    """A missing or wrong admin bearer token answers a bare 401."""
    app = app_factory(make_settings(database_url=sqlite_url, admin_token="s3cret-token"))
    response = analytics(app, **({"authorization": header} if header else {}))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_analytics_returns_the_report(loaded: str, app_factory: Callable[..., FastAPI]) -> None:
    """The admin token gets the same JSON as `ms-cds report --json`, with ?since."""
    app = app_factory(make_settings(database_url=loaded, admin_token="s3cret-token"))
    with TestClient(app) as client:
        auth = {"authorization": "Bearer s3cret-token"}
        everything = client.get("/analytics/cards", headers=auth)
        since = client.get("/analytics/cards", params={"since": "2026-11-01"}, headers=auth)
        bad = client.get("/analytics/cards", params={"since": "soon"}, headers=auth)
    assert everything.status_code == 200
    assert everything.json() == EXPECTED_ALL
    assert since.json()["topics"][1]["cardsIssued"] == 3
    assert bad.status_code == 400
    assert bad.json()["resourceType"] == "OperationOutcome"
