"""Alembic environment: always given a live connection by cds_service.storage.migrate."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from cds_service.storage.schema import metadata


def run_migrations_online() -> None:
    connection: Connection | None = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations with `ms-cds db upgrade` (it passes a connection)")
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported")
run_migrations_online()
