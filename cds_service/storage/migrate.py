"""Alembic, run programmatically: `ms-cds db upgrade`, or at start-up in development.

Alembic itself is loaded only when there is something to migrate: an up-to-date
database is recognised by its `alembic_version` row against `HEAD_REVISION`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["HEAD_REVISION", "current_revision", "head_revision", "upgrade"]

MIGRATIONS = Path(__file__).parent / "migrations"
# The newest revision in migrations/versions (a test holds it equal to Alembic's head).
HEAD_REVISION = "0002"
_LOCK_KEY = 0x6D73636473  # "mscds": one advisory lock for schema changes


def _config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str | None:
    """The head revision as Alembic reads the migration scripts."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The database's schema revision; None for an empty database."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        return None if revision is None else str(revision)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` (no-op when already there)."""
    if revision == "head" and current_revision(engine) == HEAD_REVISION:
        return
    from alembic import command

    config = _config()
    with engine.begin() as connection:
        # Concurrent start-ups migrate one at a time; the others then find the head in
        # place (SQLite: BEGIN IMMEDIATE already serialises; PostgreSQL: advisory lock).
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
