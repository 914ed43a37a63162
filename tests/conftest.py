"""Shared fixtures: an app with a frozen clock, and builders for CDS Hooks requests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import settings

from cds_service.app import create_app
from cds_service.settings import Settings
from tests.strategies import PROFILE

TODAY = date(2026, 11, 25)

# Profiles are registered in tests/strategies.py: "dev" (make test), "fuzz" (make fuzz).
settings.load_profile(PROFILE)


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


@pytest.fixture(scope="session")
def harness() -> Iterator[Any]:
    """One app for all generated requests (see tests/harness.py)."""
    from tests.harness import Harness

    with Harness() as running:
        yield running


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Report how many generated requests the fuzz and property tests sent."""
    from tests.harness import SENT

    if SENT:
        terminalreporter.write_sep("-", "generated requests sent")
        for test, count in sorted(SENT.items()):
            terminalreporter.write_line(f"{count:>8}  {test}")
        terminalreporter.write_line(f"{sum(SENT.values()):>8}  total")
