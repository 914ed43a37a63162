"""The card ledger: every returned card recorded, buffered through outages, flushed at exit."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cards.config import KNOWLEDGE_VERSION
from cds_service.ops import patient_hash
from cds_service.runtime import runtime_of
from cds_service.storage.engine import make_engine
from cds_service.storage.ledger import CardLedger, LedgerEntry
from cds_service.storage.migrate import upgrade
from cds_service.storage.schema import card_ledger
from tests.builders import PATIENT_ID, hook_request, med_request, ms_condition
from tests.conftest import make_settings
from tests.storage_helpers import migrated, rows

MSC_REQUEST = hook_request(
    "order-select",
    drafts=[med_request("m1", text="mesenchymal stem cell infusion")],
    conditions=[ms_condition()],
)


def entry(uuid: str, topic: str = "mscWarning") -> LedgerEntry:
    return LedgerEntry(
        card_uuid=uuid,
        service_id="ms-order-select",
        topic=topic,
        hook_instance="hook-1",
        patient_hash="0" * 64,
        issued_at=datetime(2026, 11, 25, 9, 0, tzinfo=UTC),
        knowledge_version=KNOWLEDGE_VERSION,
    )


def test_returned_cards_are_recorded(db_url: str, app_factory: Callable[..., FastAPI]) -> None:
    """Each returned card gets a ledger row: uuid, service, topic, hookInstance, hash, version."""
    settings = make_settings(database_url=db_url, patient_hash_key="k" * 32)
    app = app_factory(settings)
    with TestClient(app) as client:
        response = client.post("/cds-services/ms-order-select", json=MSC_REQUEST)
        assert response.status_code == 200
        assert runtime_of(app).storage.ledger.flush(timeout=10)
    [card] = response.json()["cards"]
    [row] = rows(db_url, card_ledger)
    assert row["card_uuid"] == card["uuid"]
    assert (row["service_id"], row["topic"], row["hook_instance"]) == (
        "ms-order-select",
        "mscWarning",
        MSC_REQUEST["hookInstance"],
    )
    assert row["patient_hash"] == patient_hash(PATIENT_ID, "k" * 32)
    assert PATIENT_ID not in row.values()
    assert row["knowledge_version"] == KNOWLEDGE_VERSION
    assert row["issued_at"].tzinfo is not None


def test_no_card_no_ledger_row(sqlite_url: str, app_factory: Callable[..., FastAPI]) -> None:
    """A response without cards records nothing."""
    with TestClient(app_factory(make_settings(database_url=sqlite_url))) as client:
        response = client.post("/cds-services/ms-patient-view", json=hook_request("patient-view"))
    assert response.status_code == 200 and response.json()["cards"] == []
    assert rows(sqlite_url, card_ledger) == []


def test_close_writes_what_is_still_queued(db_url: str) -> None:
    """Entries still in memory at shutdown are written by close()."""
    with migrated(db_url) as engine:
        ledger = CardLedger(engine)
        ledger.record([entry("u1"), entry("u2")])  # the writer thread never ran
        assert ledger.close(timeout=5) == 0
    assert [r["card_uuid"] for r in rows(db_url, card_ledger)] == ["u1", "u2"]


def test_app_shutdown_flushes_the_ledger(
    sqlite_url: str, app_factory: Callable[..., FastAPI]
) -> None:
    """Cards queued when the app stops are in the database once it has stopped."""
    app = app_factory(make_settings(database_url=sqlite_url))
    with TestClient(app) as client:
        runtime_of(app).storage.ledger.record([entry("queued-at-exit")])
        assert client.post("/cds-services/ms-order-select", json=MSC_REQUEST).status_code == 200
    assert runtime_of(app).storage.ledger.pending == 0
    assert {r["card_uuid"] for r in rows(sqlite_url, card_ledger)} >= {"queued-at-exit"}
    assert len(rows(sqlite_url, card_ledger)) == 2


def test_database_briefly_down_loses_nothing(tmp_path: Path) -> None:
    """Entries recorded while the database is unreachable are written once it is back."""
    db_dir = tmp_path / "not-yet"
    url = f"sqlite:///{db_dir / 'cds.sqlite3'}"
    engine = make_engine(url)
    ledger = CardLedger(engine, retry_min=0.01, retry_max=0.05)
    ledger.start()
    ledger.record([entry("during-outage-1"), entry("during-outage-2")])
    assert not ledger.flush(timeout=0.2)  # cannot be written: no database yet
    db_dir.mkdir()
    upgrade(engine)
    assert ledger.flush(timeout=10)
    assert ledger.close(timeout=5) == 0
    engine.dispose()
    assert [r["card_uuid"] for r in rows(url, card_ledger)] == [
        "during-outage-1",
        "during-outage-2",
    ]


def test_retried_batch_is_not_written_twice(sqlite_url: str) -> None:
    """A card uuid already in the ledger is skipped, not duplicated or failing the batch."""
    with migrated(sqlite_url) as engine:
        ledger = CardLedger(engine)
        ledger.record([entry("u1")])
        ledger.close(timeout=5)
        again = CardLedger(engine)
        again.record([entry("u1"), entry("u2")])
        assert again.close(timeout=5) == 0
    assert [r["card_uuid"] for r in rows(sqlite_url, card_ledger)] == ["u1", "u2"]


def test_full_buffer_drops_with_a_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beyond ledger_buffer_size entries are dropped, counted and logged (memory is bounded)."""
    monkeypatch.setattr(logging.getLogger("ms_cds"), "propagate", True)
    engine = make_engine(f"sqlite:///{tmp_path / 'missing' / 'x.sqlite3'}")
    ledger = CardLedger(engine, buffer_size=2)
    with caplog.at_level(logging.ERROR, logger="ms_cds.ledger"):
        ledger.record([entry("a"), entry("b"), entry("c")])
        lost = ledger.close(timeout=0)
    engine.dispose()
    assert (ledger.dropped, ledger.pending, lost) == (1, 2, 2)
    messages = [r.getMessage() for r in caplog.records]
    assert "card ledger buffer full: entries dropped" in messages
    assert "card ledger entries not written at shutdown" in messages


def test_cards_recorded_within_the_write_interval_go_in_one_transaction(sqlite_url: str) -> None:
    """The writer gathers what arrives within its interval into one batch; flush writes now."""
    with migrated(sqlite_url) as engine:
        ledger = CardLedger(engine, write_interval=30)
        batches: list[int] = []
        write = ledger._write

        def counting(batch: list[LedgerEntry]) -> bool:
            batches.append(len(batch))
            return write(batch)

        ledger._write = counting  # type: ignore[method-assign]
        ledger.start()
        for i in range(10):
            ledger.record([entry(f"u{i}")])
        assert ledger.flush(timeout=10)  # long before the 30 s interval
        assert batches == [10]
        assert ledger.close(timeout=5) == 0
    assert len(rows(sqlite_url, card_ledger)) == 10


def test_feedback_right_after_the_card_knows_the_card(
    db_url: str, app_factory: Callable[..., FastAPI]
) -> None:
    """Feedback sent at once on a card still waiting to be written is not 'unknown'."""
    app = app_factory(make_settings(database_url=db_url, ledger_write_interval_seconds=5))
    with TestClient(app) as client:
        [card] = client.post("/cds-services/ms-order-select", json=MSC_REQUEST).json()["cards"]
        feedback = {
            "feedback": [
                {
                    "card": card["uuid"],
                    "outcome": "overridden",
                    "outcomeTimestamp": "2026-11-25T09:00:00Z",
                }
            ]
        }
        response = client.post("/cds-services/ms-order-select/feedback", json=feedback)
    assert response.status_code == 200, response.text
    assert response.json()["unknownCards"] == 0
