"""CORS: which browser origins may call, per mode and setting (the browser test proves it live)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests import jwt_support as js
from tests.conftest import make_settings

SANDBOX = "https://sandbox.cds-hooks.org"


def preflight(client: TestClient, origin: str) -> httpx.Response:
    return client.options(
        "/cds-services/ms-patient-view",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )


def assert_allowed(response: httpx.Response, origin: str) -> None:
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == origin
    allowed = response.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed
    assert "POST" in response.headers["access-control-allow-methods"]


@pytest.mark.parametrize("origin", [SANDBOX, "http://localhost:3000", "http://127.0.0.1:8080"])
def test_development_allows_sandbox_and_localhost(client: TestClient, origin: str) -> None:
    """In development the public sandbox and localhost origins may call."""
    assert_allowed(preflight(client, origin), origin)


@pytest.mark.parametrize(
    "origin", ["https://evil.example.net", "http://localhost.evil.example.net", "null"]
)
def test_development_refuses_other_origins(client: TestClient, origin: str) -> None:
    """In development any other origin gets no CORS grant."""
    response = preflight(client, origin)
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


def test_production_allows_no_origin_by_default(app_factory: Callable[..., FastAPI]) -> None:
    """In production no origin may call unless configured, the sandbox included."""
    settings = js.production_settings(trusted_issuers={js.ISSUER: {"jwks": {"keys": []}}})
    with TestClient(app_factory(settings)) as prod:
        assert preflight(prod, SANDBOX).status_code == 400


def test_configured_origins(app_factory: Callable[..., FastAPI]) -> None:
    """CDS_CORS_ORIGINS lists the origins; even a refusal (401) carries the CORS grant."""
    settings = js.production_settings(
        trusted_issuers={js.ISSUER: {"jwks": {"keys": []}}}, cors_origins=[SANDBOX]
    )
    with TestClient(app_factory(settings)) as prod:
        assert_allowed(preflight(prod, SANDBOX), SANDBOX)
        assert preflight(prod, "http://localhost:3000").status_code == 400
        response = prod.post("/cds-services/ms-patient-view", json={}, headers={"Origin": SANDBOX})
        assert response.status_code == 401
        assert response.headers["access-control-allow-origin"] == SANDBOX


def test_discovery_answers_cross_origin(client: TestClient) -> None:
    """A simple cross-origin GET of discovery carries the grant."""
    response = client.get("/cds-services", headers={"Origin": SANDBOX})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == SANDBOX


def test_cors_origins_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """CDS_CORS_ORIGINS is a JSON list in the environment and replaces the defaults."""
    monkeypatch.setenv("CDS_CORS_ORIGINS", '["https://ehr.example.org"]')
    assert make_settings().cors_policy() == (["https://ehr.example.org"], None)
