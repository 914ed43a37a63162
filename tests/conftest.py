"""Shared fixtures: an app with a frozen clock, and builders for CDS Hooks requests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cds_service.app import create_app
from cds_service.settings import Settings

TODAY = date(2026, 11, 25)


def make_settings(**overrides: Any) -> Settings:
    """Settings for tests: development mode unless a test says otherwise."""
    values: dict[str, Any] = {"dev": True, **overrides}
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def app_factory() -> Callable[..., FastAPI]:
    def factory(settings: Settings | None = None, today: date = TODAY) -> FastAPI:
        return create_app(settings or make_settings(), clock=lambda: today)

    return factory


@pytest.fixture
def client(app_factory: Callable[..., FastAPI]) -> Iterator[TestClient]:
    with TestClient(app_factory()) as test_client:
        yield test_client
