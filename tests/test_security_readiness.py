"""Issue 17 #15: /readyz (unauthenticated) pings the database at most once per interval,
on its own thread, never queued behind feedback."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event

from tests.conftest import make_settings


def count_pings(app: FastAPI) -> list[str]:
    """One entry per database connection the readiness probe takes, as it takes them."""
    seen: list[str] = []

    def note(*_args: Any) -> None:
        seen.append("ping")

    event.listen(app.state.runtime.storage.probe.engine, "checkout", note)
    return seen


def test_many_readyz_calls_ping_once_per_interval(
    sqlite_url: str, app_factory: Callable[..., FastAPI]
) -> None:
    """40 /readyz calls within the interval cost one database ping; all report it."""
    app = app_factory(
        make_settings(database_url=sqlite_url, readiness_database_interval_seconds=300)
    )
    with TestClient(app) as client:
        pings = count_pings(app)
        answers = [client.get("/readyz") for _ in range(40)]
    assert pings == ["ping"]
    assert {a.json()["checks"]["database"]["ok"] for a in answers} == {True}


def test_interval_zero_pings_every_time(
    sqlite_url: str, app_factory: Callable[..., FastAPI]
) -> None:
    """With the interval at 0 each /readyz pings anew (the cache is what bounds the cost)."""
    app = app_factory(make_settings(database_url=sqlite_url, readiness_database_interval_seconds=0))
    with TestClient(app) as client:
        pings = count_pings(app)
        for _ in range(3):
            client.get("/readyz")
    assert pings == ["ping"] * 3


def test_readyz_is_not_queued_behind_a_saturated_thread_pool(
    sqlite_url: str, app_factory: Callable[..., FastAPI]
) -> None:
    """With every worker of the default thread pool (feedback's) blocked, /readyz still
    pings the database and answers it reachable."""
    app = app_factory(make_settings(database_url=sqlite_url, readiness_timeout_seconds=2.0))
    release = threading.Event()

    async def scenario() -> httpx.Response:
        loop = asyncio.get_running_loop()
        async with app.router.lifespan_context(app):
            blocked = [loop.run_in_executor(None, release.wait) for _ in range(64)]
            try:
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                    return await client.get("/readyz")
            finally:
                release.set()
                await asyncio.gather(*blocked)

    response = asyncio.run(scenario())
    assert response.status_code == 200
    assert response.json()["checks"]["database"] == {
        "ok": True,
        "critical": False,
        "detail": "reachable",
    }


def test_readyz_does_not_wait_for_the_sqlite_write_lock(
    tmp_path: Path, app_factory: Callable[..., FastAPI]
) -> None:
    """A writer holding SQLite's write lock (a feedback transaction) does not delay the ping."""
    path = tmp_path / "cds.sqlite3"
    app = app_factory(make_settings(database_url=f"sqlite:///{path}"))
    with TestClient(app) as client:
        writer = sqlite3.connect(path, isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")
        try:
            response = client.get("/readyz")
        finally:
            writer.execute("ROLLBACK")
            writer.close()
    assert response.json()["checks"]["database"]["ok"] is True
