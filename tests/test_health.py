"""GET /healthz and GET /readyz, and the readiness-check registry behind /readyz."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cards.config import KNOWLEDGE_VERSION
from cds_service.readiness import CheckResult, Readiness
from tests.conftest import make_settings


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


def test_readyz_reports_rules_and_value_sets(client: TestClient) -> None:
    """/readyz answers 200 'ready' with the rules and value-set checks passing."""
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"rules", "valuesets"}
    assert body["checks"]["rules"]["ok"] is True
    assert body["checks"]["valuesets"] == {"ok": True, "detail": "5 value sets loaded"}
    assert "failing" not in body


def test_readyz_503_names_failing_check(app_factory: Callable[..., FastAPI]) -> None:
    """A failing registered check (e.g. the database) turns /readyz into 503 naming it."""
    app = app_factory()

    async def database() -> CheckResult:
        return CheckResult(False, "connection refused")

    app.state.readiness.add("database", database)
    with TestClient(app) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    assert body["failing"] == ["database"]
    assert body["checks"]["database"] == {"ok": False, "detail": "connection refused"}
    assert body["checks"]["rules"]["ok"] is True


def test_readyz_fails_when_registry_not_checked(app_factory: Callable[..., FastAPI]) -> None:
    """/readyz is 503 on the rules check when the start-up registry check is not recorded."""
    app = app_factory()
    app.state.registry_checked = False
    with TestClient(app) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["rules"]


def test_operations_endpoints_need_no_auth(app_factory: Callable[..., FastAPI]) -> None:
    """Probes and scrapers reach /healthz, /readyz and /metrics outside development mode,
    without a token."""
    with TestClient(app_factory(make_settings(dev=False))) as client:
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
    readiness.remove("database")
    assert readiness.names == []


def test_readiness_timeout_from_settings(app_factory: Callable[..., FastAPI]) -> None:
    """CDS_READINESS_TIMEOUT_SECONDS sets the per-check time limit of /readyz."""
    app = app_factory(make_settings(readiness_timeout_seconds=0.5))
    assert app.state.readiness.timeout_seconds == 0.5
