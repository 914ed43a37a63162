"""GET /healthz and GET /readyz, and the readiness-check registry behind /readyz."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cards.config import KNOWLEDGE_VERSION
from cds_service.ops import CheckResult, Readiness
from cds_service.runtime import runtime_of
from fhir_mappings.valuesets import all_value_sets
from tests.conftest import make_settings, postgres_url
from tests.fhir_fakes import production


def test_healthz_answers_json(client: TestClient) -> None:
    """/healthz answers 200 with status, version and knowledge version as JSON."""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {
        "status": "ok",
        "version": "0.1.0",
        "knowledgeVersion": KNOWLEDGE_VERSION,
    }


def test_readyz_reports_value_sets_and_database(client: TestClient) -> None:
    """/readyz answers 200 'ready' with the value-set and database checks passing."""
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"valuesets", "database", "ledger"}
    loaded = len(all_value_sets())
    assert body["checks"]["valuesets"] == {
        "ok": True,
        "critical": True,
        "detail": f"{loaded} value sets loaded",
    }
    assert body["checks"]["database"] == {"ok": True, "critical": False, "detail": "reachable"}
    assert "failing" not in body


def test_readyz_503_names_failing_check(app_factory: Callable[..., FastAPI]) -> None:
    """A failing critical check (e.g. Redis) turns /readyz into 503 naming it."""
    app = app_factory()

    async def redis() -> CheckResult:
        return CheckResult(False, "connection refused")

    runtime_of(app).readiness.add("redis", redis)
    with TestClient(app) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    assert body["failing"] == ["redis"]
    assert body["checks"]["redis"] == {
        "ok": False,
        "critical": True,
        "detail": "connection refused",
    }
    assert body["checks"]["valuesets"]["ok"] is True


# A PostgreSQL URL where nothing listens: connection refused at once.
UNREACHABLE_DB = "postgresql+psycopg://cds@127.0.0.1:9/cds"


def test_database_down_is_degraded_by_default(app_factory: Callable[..., FastAPI]) -> None:
    """Database unreachable: /readyz stays 200 'degraded' naming it (cards are still served)."""
    app = app_factory(make_settings(database_url=UNREACHABLE_DB, database_connect_timeout=1))
    with TestClient(app) as client:
        response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["failing"] == ["database"]
    assert body["checks"]["database"]["ok"] is False
    assert body["checks"]["database"]["detail"].startswith("failed: ")
    assert "cds@" not in response.text  # no connection string in the answer


def test_database_down_not_ready_when_required(app_factory: Callable[..., FastAPI]) -> None:
    """CDS_READINESS_REQUIRES_DATABASE=true: an unreachable database makes /readyz 503."""
    settings = make_settings(
        database_url=UNREACHABLE_DB, database_connect_timeout=1, readiness_requires_database=True
    )
    with TestClient(app_factory(settings)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["database"]


def test_database_check_against_postgresql(app_factory: Callable[..., FastAPI]) -> None:
    """With a reachable PostgreSQL configured, the database check passes."""
    url = postgres_url()
    if url is None:
        pytest.skip("no PostgreSQL reachable (CDS_TEST_DATABASE_URL or 127.0.0.1:5432 test)")
    settings = make_settings(
        database_url=url, database_migrate_on_startup=False, readiness_requires_database=True
    )
    with TestClient(app_factory(settings)) as client:
        response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["database"]["ok"] is True


def test_operations_endpoints_need_no_auth(app_factory: Callable[..., FastAPI]) -> None:
    """Probes and scrapers reach /healthz, /readyz and /metrics outside development mode,
    without a token."""
    with TestClient(app_factory(production())) as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 200
        assert client.get("/metrics").status_code == 200


async def test_check_exception_reported_by_type_only() -> None:
    """A check that raises fails with its exception type, never its message."""
    readiness = Readiness()

    async def broken() -> CheckResult:
        raise ConnectionError("postgresql://cds:hunter2@db/cds unreachable")

    readiness.add("database", broken)
    results = await readiness.run()
    assert results["database"] == CheckResult(False, "failed: ConnectionError")


async def test_check_time_limit() -> None:
    """A check that does not answer within the time limit fails; the others still report."""
    readiness = Readiness(timeout_seconds=0.01)
    never = asyncio.Event()

    async def hangs() -> CheckResult:
        await never.wait()
        return CheckResult(True)

    async def fine() -> CheckResult:
        return CheckResult(True, "ok")

    readiness.add("redis", hangs)
    readiness.add("other", fine)
    results = await readiness.run()
    assert results["redis"] == CheckResult(False, "no answer within 0.01 s")
    assert results["other"] == CheckResult(True, "ok")


def test_duplicate_check_name_refused() -> None:
    """Registering two checks under one name is an error, not a silent replacement."""
    readiness = Readiness()

    async def check() -> CheckResult:
        return CheckResult(True)

    readiness.add("database", check)
    with pytest.raises(ValueError, match="already registered"):
        readiness.add("database", check)


def test_readiness_timeout_from_settings(app_factory: Callable[..., FastAPI]) -> None:
    """CDS_READINESS_TIMEOUT_SECONDS sets the per-check time limit of /readyz."""
    app = app_factory(make_settings(readiness_timeout_seconds=0.5))
    assert runtime_of(app).readiness.timeout_seconds == 0.5
