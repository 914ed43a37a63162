"""Issue 17 findings 6 and 7: production's `aud` comes only from configuration, and several
workers need the shared replay cache; either missing, the service refuses to start."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cds_service.cli import app as cli_app
from cds_service.config import ConfigurationError
from tests.builders import hook_request
from tests.conftest import make_settings
from tests.jwt_support import (
    SERVICE_PATH,
    STATIC_ISSUERS,
    STATIC_SIGNER,
    bearer,
    claims,
    production_settings,
)

ATTACKER = "attacker.example"
ATTACKER_URL = f"https://{ATTACKER}{SERVICE_PATH}"


def call(client: TestClient, aud: str, **headers: str) -> int:
    token = STATIC_SIGNER.token(claims(aud=aud))
    body = hook_request("patient-view")
    return client.post(SERVICE_PATH, json=body, headers={**bearer(token), **headers}).status_code


def test_production_refuses_to_start_without_an_audience(
    app_factory: Callable[..., FastAPI],
) -> None:
    """Neither CDS_PUBLIC_BASE_URL nor CDS_AUDIENCE: production refuses to start, saying why."""
    with pytest.raises(ConfigurationError) as caught:
        app_factory(production_settings(trusted_issuers=STATIC_ISSUERS, public_base_url=None))
    assert "CDS_PUBLIC_BASE_URL (or CDS_AUDIENCE) must be set" in str(caught.value)
    assert "never against the Host" in str(caught.value)


def test_audience_alone_is_enough_and_host_is_never_an_audience(
    app_factory: Callable[..., FastAPI],
) -> None:
    """With only CDS_AUDIENCE, a token naming the Host (or X-Forwarded-Host) the caller sent
    is refused; the configured audience is accepted."""
    settings = production_settings(
        trusted_issuers=STATIC_ISSUERS, public_base_url=None, audience=["urn:ms-cds:site-1"]
    )
    with TestClient(app_factory(settings), base_url=f"https://{ATTACKER}") as client:
        assert call(client, ATTACKER_URL, host=ATTACKER) == 401
        assert call(client, ATTACKER_URL, **{"x-forwarded-host": ATTACKER}) == 401
        assert call(client, "urn:ms-cds:site-1") == 200


def test_public_base_url_wins_over_host(app_factory: Callable[..., FastAPI]) -> None:
    """With CDS_PUBLIC_BASE_URL, a token for the Host the caller sent is refused."""
    settings = production_settings(
        trusted_issuers=STATIC_ISSUERS, public_base_url="https://cds.example.org"
    )
    with TestClient(app_factory(settings), base_url=f"https://{ATTACKER}") as client:
        assert call(client, ATTACKER_URL) == 401
        assert call(client, ATTACKER_URL, **{"x-forwarded-host": ATTACKER}) == 401
        assert call(client, "https://cds.example.org" + SERVICE_PATH) == 200


def test_several_workers_without_redis_refused() -> None:
    """Production with CDS_WORKERS > 1 and no CDS_REDIS_URL is a start-up problem naming both;
    with Redis, or in development, it is not."""
    problems = production_settings(workers=2).production_problems()
    assert any("CDS_WORKERS=2 needs CDS_REDIS_URL" in p for p in problems)
    assert not production_settings(workers=2, redis_url="redis://r:6379/0").production_problems()
    assert not production_settings(workers=1).production_problems()
    assert not make_settings(workers=2).production_problems()


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No CDS_ variables and no .env file; whatever the command sets is undone."""
    saved = dict(os.environ)
    for name in list(os.environ):
        if name.startswith(("CDS_", "PROMETHEUS_")):
            del os.environ[name]
    monkeypatch.chdir(tmp_path)
    yield
    os.environ.clear()
    os.environ.update(saved)


def test_serve_with_workers_and_no_redis_exits_saying_why(
    clean_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ms-cds serve --workers 2` in production without Redis exits 2 before uvicorn runs."""
    started: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: started.append(a))
    os.environ["CDS_TRUSTED_ISSUERS"] = '{"https://ehr.example.org": {"jwks": {"keys": []}}}'
    os.environ["CDS_PATIENT_HASH_KEY"] = "k" * 32
    os.environ["CDS_PUBLIC_BASE_URL"] = "https://cds.example.org"
    result = CliRunner().invoke(cli_app, ["serve", "--workers", "2"])
    assert result.exit_code == 2
    assert "CDS_WORKERS=2 needs CDS_REDIS_URL" in result.output
    assert started == []
