"""Shared fixtures: an app with a frozen clock, and builders for CDS Hooks requests."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import uuid
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import settings

from cds_service.app import create_app
from cds_service.config import Settings
from tests.strategies import PROFILE

TODAY = date(2026, 11, 25)

# Profiles are registered in tests/strategies.py: "dev" (make test), "fuzz" (make fuzz).
settings.load_profile(PROFILE)


def make_settings(**overrides: Any) -> Settings:
    """Settings for tests: development mode unless a test says otherwise."""
    values: dict[str, Any] = {"dev": True, **overrides}
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture(autouse=True)
def _logging_as_found() -> Iterator[None]:
    """A test that configures the process's logging (configure_logging) leaves it as found."""
    logger = logging.getLogger("ms_cds")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    yield
    logger.handlers[:], logger.level, logger.propagate = saved[0], saved[1], saved[2]


@pytest.fixture
def app_factory() -> Callable[..., FastAPI]:
    def factory(settings: Settings | None = None, today: date = TODAY) -> FastAPI:
        return create_app(settings or make_settings(), clock=lambda: today)

    return factory


@pytest.fixture
def client(app_factory: Callable[..., FastAPI]) -> Iterator[TestClient]:
    with TestClient(app_factory()) as test_client:
        yield test_client


# --- databases (card ledger, feedback) ----------------------------------------------

PG_DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(autouse=True, scope="session")
def _isolated_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No test writes ./ms-cds.sqlite3 or a database named in the developer's environment."""
    path = tmp_path_factory.mktemp("db") / "session.sqlite3"
    previous = os.environ.get("CDS_DATABASE_URL")
    os.environ["CDS_DATABASE_URL"] = f"sqlite:///{path}"
    yield
    if previous is None:
        os.environ.pop("CDS_DATABASE_URL", None)
    else:
        os.environ["CDS_DATABASE_URL"] = previous


@functools.cache
def postgres_url() -> str | None:
    """The test PostgreSQL (CDS_TEST_DATABASE_URL or the local one), if it answers."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError

    from cds_service.storage.engine import database_url

    url = database_url(os.environ.get("CDS_TEST_DATABASE_URL", PG_DEFAULT_URL))
    engine = create_engine(url, connect_args={"connect_timeout": 2})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return None
    finally:
        engine.dispose()
    return url


NO_POSTGRES = "no PostgreSQL answers at CDS_TEST_DATABASE_URL or 127.0.0.1:5432/test"
DATABASES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param(
        "postgres",
        id="postgres",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(postgres_url() is None, reason=NO_POSTGRES),
        ],
    ),
]


@contextlib.contextmanager
def fresh_database(kind: str, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database: a new SQLite file, or a new PostgreSQL schema."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'cds.sqlite3'}"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = postgres_url()
    assert base is not None
    schema = f"cds_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=DATABASES)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database, once on SQLite and once on PostgreSQL (when reachable)."""
    with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """An empty SQLite database (for tests whose behaviour does not depend on the backend)."""
    return f"sqlite:///{tmp_path / 'cds.sqlite3'}"


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
