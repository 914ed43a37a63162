"""Issue 17: the card ledger survives values the database refuses, and /readyz says when
it is stuck (findings 2, 17)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from cards.config import KNOWLEDGE_VERSION
from cds_service.storage import Storage
from cds_service.storage.engine import make_engine
from cds_service.storage.ledger import CardLedger, LedgerEntry
from cds_service.storage.schema import card_ledger
from tests.builders import hook_request, med_request, ms_condition
from tests.conftest import DATABASES, fresh_database, make_settings, postgres_url
from tests.storage_helpers import rows

MSC_REQUEST = hook_request(
    "order-select",
    drafts=[med_request("m1", text="mesenchymal stem cell infusion")],
    conditions=[ms_condition()],
)
SECRET_TEXT = "Jane Doe 1990-04-12"  # stands for PHI a caller might plant


def entry(uuid: str, hook_instance: str = "5f1e7b8a-4c1d-4a8e-9a33-1d2c3b4a5f60") -> LedgerEntry:
    return LedgerEntry(
        card_uuid=uuid,
        service_id="ms-order-select",
        topic="mscWarning",
        hook_instance=hook_instance,
        patient_hash="0" * 64,
        issued_at=datetime(2026, 11, 25, 9, 0, tzinfo=UTC),
        knowledge_version=KNOWLEDGE_VERSION,
    )


def quarantined(reason: str) -> float:
    value = REGISTRY.get_sample_value("cds_ledger_quarantined_total", {"reason": reason})
    return value or 0.0


def refused_entry(kind: str) -> tuple[LedgerEntry, str]:
    """An entry the database refuses for a data reason, and the metric reason it counts as."""
    if kind == "postgres":  # PostgreSQL text cannot hold NUL
        return entry("bad", hook_instance=f"{SECRET_TEXT}\x00"), "data_error"
    # Both backends refuse NULL in a NOT NULL column.
    return replace(entry("bad"), service_id=cast(str, None)), "integrity_error"


@pytest.fixture
def ms_logs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logging.getLogger("ms_cds"), "propagate", True)


# Each refusal on the backends that refuse it: SQLite stores NUL, so the NUL case is
# PostgreSQL's only (skipped, like every PostgreSQL case, when none is reachable).
POSTGRES_MARKS = DATABASES[1].marks
REFUSALS = [
    pytest.param("any", "sqlite", id="null-sqlite"),
    pytest.param("any", "postgres", marks=POSTGRES_MARKS, id="null-postgres"),
    pytest.param("postgres", "postgres", marks=POSTGRES_MARKS, id="nul-postgres"),
]


@pytest.mark.usefixtures("ms_logs")
@pytest.mark.parametrize(("kind", "database"), REFUSALS)
def test_refused_entry_is_quarantined_and_the_rest_written(
    kind: str, database: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """One refused entry in a batch is quarantined (logged without values, counted); the
    entries before and after it are written, and later batches too."""
    with fresh_database(database, tmp_path) as db_url:
        check_quarantine(kind, db_url, caplog)


def check_quarantine(kind: str, db_url: str, caplog: pytest.LogCaptureFixture) -> None:
    bad, reason = refused_entry(kind)
    before = quarantined(reason)
    storage = Storage(make_settings(database_url=db_url, ledger_batch_size=8))
    with caplog.at_level(logging.INFO, logger="ms_cds.ledger"):
        storage.start()  # migrates (development settings)
        ledger = storage.ledger
        ledger.record([entry(f"u{i}") for i in range(5)] + [bad] + [entry("u5"), entry("u6")])
        assert ledger.flush(timeout=10)
        ledger.record([entry("later")])
        assert ledger.flush(timeout=10)
        storage.close()
    assert ledger.pending == 0
    written = [r["card_uuid"] for r in rows(db_url, card_ledger)]
    assert sorted(written) == sorted([f"u{i}" for i in range(7)] + ["later"])
    assert ledger.quarantined == 1
    assert quarantined(reason) == before + 1
    [line] = [r for r in caplog.records if "quarantined" in r.getMessage()]
    assert line.__dict__["reason"] == reason
    assert SECRET_TEXT not in caplog.text and "\x00" not in caplog.text


def test_an_outage_is_still_retried_not_quarantined(tmp_path: Any) -> None:
    """A database that is not there is an outage: the entries wait, nothing is quarantined."""
    engine = make_engine(f"sqlite:///{tmp_path / 'missing' / 'x.sqlite3'}")
    ledger = CardLedger(engine, retry_min=0.01, retry_max=0.02)
    ledger.start()
    ledger.record([entry("a"), entry("b")])
    assert not ledger.flush(timeout=0.3)
    status = ledger.status()
    assert (status.pending, status.quarantined) == (2, 0)
    assert status.consecutive_failures >= 1
    ledger.close(timeout=0)
    engine.dispose()


def test_hook_instance_with_nul_is_refused_with_400(
    db_url: str, app_factory: Callable[..., FastAPI]
) -> None:
    """A NUL in hookInstance answers 400 naming the field; the next call's card is written."""
    app = app_factory(make_settings(database_url=db_url))
    with TestClient(app) as client:
        bad = client.post(
            "/cds-services/ms-order-select",
            json={**MSC_REQUEST, "hookInstance": "5f1e7b8a-4c1d-4a8e-9a33-\x001d2c3b4a5f60"},
        )
        good = client.post("/cds-services/ms-order-select", json=MSC_REQUEST)
        assert app.state.runtime.storage.ledger.flush(timeout=10)
    assert bad.status_code == 400
    assert bad.json()["resourceType"] == "OperationOutcome"
    assert "hookInstance" in bad.json()["issue"][0]["diagnostics"]
    assert good.status_code == 200
    [card] = good.json()["cards"]
    assert [r["card_uuid"] for r in rows(db_url, card_ledger)] == [card["uuid"]]


UNREACHABLE_DB = "postgresql+psycopg://cds@127.0.0.1:9/cds"


@pytest.mark.parametrize("required", [False, True])
def test_readyz_reports_a_stuck_ledger(required: bool, app_factory: Callable[..., FastAPI]) -> None:
    """Cards left unwritten past CDS_LEDGER_STUCK_SECONDS make the ledger check fail:
    degraded (200) by default, 503 when the database is required."""
    settings = make_settings(
        database_url=UNREACHABLE_DB,
        database_connect_timeout=1,
        ledger_stuck_seconds=0.2,
        ledger_write_interval_seconds=0,
        readiness_requires_database=required,
    )
    app = app_factory(settings)
    with TestClient(app) as client:
        assert client.get("/readyz").json()["checks"]["ledger"]["ok"] is True
        assert client.post("/cds-services/ms-order-select", json=MSC_REQUEST).status_code == 200
        time.sleep(0.4)
        response = client.get("/readyz")
    ledger = response.json()["checks"]["ledger"]
    assert ledger["ok"] is False
    assert "1 entries unwritten" in ledger["detail"]
    assert "ledger" in response.json()["failing"]
    assert response.status_code == (503 if required else 200)


def test_ledger_check_passes_once_written(app_factory: Callable[..., FastAPI]) -> None:
    """A working ledger reports ok with nothing waiting."""
    url = postgres_url()
    if url is None:
        pytest.skip("no PostgreSQL reachable")
    app = app_factory(make_settings(ledger_write_interval_seconds=0))
    with TestClient(app) as client:
        assert client.post("/cds-services/ms-order-select", json=MSC_REQUEST).status_code == 200
        assert app.state.runtime.storage.ledger.flush(timeout=10)
        ledger = client.get("/readyz").json()["checks"]["ledger"]
    assert ledger["ok"] is True
    assert ledger["detail"].startswith("0 entries waiting")


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("Jane Doe's visit", "not-a-uuid"),
        ("c232e4a0-cf0e-11ee-8e2b-0242ac120002\n", "not-a-uuid"),
        ("URN:UUID:C232E4A0-CF0E-11EE-8E2B-0242AC120002", "c232e4a0-cf0e-11ee-8e2b-0242ac120002"),
    ],
    ids=["not-a-uuid", "trailing-newline", "urn-upper-case"],
)
def test_ledger_stores_the_hook_instance_as_logged(
    sent: str, stored: str, db_url: str, app_factory: Callable[..., FastAPI]
) -> None:
    """A hookInstance that is not a UUID is still answered 200 (interop case
    x-hookinstance-not-uuid), and the ledger stores the value the log line shows."""
    app = app_factory(make_settings(database_url=db_url))
    with TestClient(app) as client:
        response = client.post(
            "/cds-services/ms-order-select", json={**MSC_REQUEST, "hookInstance": sent}
        )
        assert app.state.runtime.storage.ledger.flush(timeout=10)
    assert response.status_code == 200
    [row] = rows(db_url, card_ledger)
    assert row["hook_instance"] == stored
