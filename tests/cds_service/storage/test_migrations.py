"""Alembic migrations: they build exactly the schema the code uses, and re-run safely."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from cds_service.storage.engine import database_url, make_engine, redacted_url
from cds_service.storage.migrate import HEAD_REVISION, current_revision, head_revision, upgrade
from cds_service.storage.schema import metadata
from tests.storage_helpers import migrated


def test_migrations_match_the_schema(db_url: str) -> None:
    """After `upgrade`, autogenerate finds no difference from cds_service.storage.schema."""
    with migrated(db_url) as engine, engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_upgrade_is_idempotent(db_url: str) -> None:
    """Upgrading an up-to-date database changes nothing and keeps the head revision."""
    with migrated(db_url) as engine:
        upgrade(engine)
        assert current_revision(engine) == head_revision() == "0002"


def test_head_revision_constant_is_alembics_head(db_url: str) -> None:
    """HEAD_REVISION (how start-up knows a database is current without Alembic) is the
    migration scripts' head, and an empty database has no revision."""
    assert HEAD_REVISION == head_revision()
    engine = make_engine(db_url)
    try:
        assert current_revision(engine) is None
    finally:
        engine.dispose()


def test_concurrent_upgrades_do_not_collide(db_url: str) -> None:
    """Several start-ups migrating the same empty database at once all succeed."""
    engines = [make_engine(db_url) for _ in range(3)]
    try:
        with ThreadPoolExecutor(max_workers=3) as pool:
            list(pool.map(upgrade, engines))
        assert {current_revision(e) for e in engines} == {"0002"}
    finally:
        for engine in engines:
            engine.dispose()


def test_database_urls_are_normalised_and_checked() -> None:
    """postgres:// URLs get the psycopg driver; an unsupported database fails at start-up."""
    assert database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert "secret" not in redacted_url("postgresql://u:secret@h/db")
    with pytest.raises(ValueError, match="unsupported database 'mysql'"):
        make_engine("mysql://u@h/db")
