"""Fault injection for the card ledger database: locked, slow (blocked), and a connection
killed under the app. Card evaluation never waits on the database and never fails
because of it; nothing recorded is lost once the database is back."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, event, text

from cds_service.runtime import runtime_of
from cds_service.storage.schema import card_ledger
from tests import builders as b
from tests.conftest import fresh_database, make_settings, postgres_url
from tests.harness import msc_card_orders
from tests.storage_helpers import migrated, rows

URL = "/cds-services/ms-order-sign"


def msc_request() -> dict[str, Any]:
    order = b.med_request("msc-1", text="Mesenchymal stem cell infusion")
    return b.hook_request("order-sign", drafts=[order], conditions=[b.ms_condition()])


def hook_call(client: TestClient) -> list[str]:
    response = client.post(URL, json=msc_request())
    assert response.status_code == 200, response.text
    return msc_card_orders(response.json())


def test_locked_sqlite_does_not_block_cards(
    sqlite_url: str, app_factory: Callable[..., FastAPI]
) -> None:
    """While another process holds SQLite's write lock, cards are still answered; the
    ledger entry is written once the lock is released."""
    with migrated(sqlite_url):
        pass
    locker = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")  # the database is locked
    app = app_factory(make_settings(database_url=sqlite_url, database_migrate_on_startup=False))
    try:
        with TestClient(app) as client:
            assert hook_call(client) == ["MedicationRequest/msc-1"]
            assert hook_call(client) == ["MedicationRequest/msc-1"]
            assert runtime_of(app).storage.ledger.pending == 2  # could not be written yet
            locker.execute("ROLLBACK")
            assert runtime_of(app).storage.ledger.flush(timeout=30)
    finally:
        locker.close()
    assert len(rows(sqlite_url, card_ledger)) == 2


def test_blocked_database_never_delays_the_answer(
    sqlite_url: str, app_factory: Callable[..., FastAPI]
) -> None:
    """A database that does not answer at all (every statement blocked) delays no hook call."""
    app = app_factory(make_settings(database_url=sqlite_url))
    release = threading.Event()
    blocked = threading.Event()

    with TestClient(app) as client:
        engine = runtime_of(app).storage.engine

        @event.listens_for(engine, "before_cursor_execute")
        def _stall(*args: Any) -> None:
            blocked.set()
            release.wait(timeout=30)  # bounded, so a broken test fails instead of hanging

        try:
            assert hook_call(client) == ["MedicationRequest/msc-1"]
            assert blocked.wait(timeout=30)  # the ledger writer is stuck in the database...
            assert hook_call(client) == ["MedicationRequest/msc-1"]  # ...and cards still flow
            assert not release.is_set()
        finally:
            release.set()
        assert runtime_of(app).storage.ledger.flush(timeout=30)
    assert len(rows(sqlite_url, card_ledger)) == 2


@pytest.mark.postgres
@pytest.mark.skipif(postgres_url() is None, reason="needs a reachable PostgreSQL")
def test_killed_postgres_connections_are_replaced(
    tmp_path: Path, app_factory: Callable[..., FastAPI]
) -> None:
    """PostgreSQL terminating the app's connections costs no card and no ledger entry."""
    with fresh_database("postgres", tmp_path) as url:
        _kill_connections_under_the_app(url, app_factory)


def _kill_connections_under_the_app(url: str, app_factory: Callable[..., FastAPI]) -> None:
    app = app_factory(make_settings(database_url=url))
    pids: list[int] = []

    @event.listens_for(runtime_of(app).storage.engine, "connect")
    def _remember(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pids.append(cursor.fetchone()[0])

    admin = create_engine(url)
    try:
        with TestClient(app) as client:
            assert hook_call(client) == ["MedicationRequest/msc-1"]
            assert runtime_of(app).storage.ledger.flush(timeout=30)
            assert pids
            with admin.begin() as connection:  # only this app's own connections
                for pid in pids:
                    connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            assert hook_call(client) == ["MedicationRequest/msc-1"]
            assert runtime_of(app).storage.ledger.flush(timeout=30)
    finally:
        admin.dispose()
    assert len(rows(url, card_ledger)) == 2
