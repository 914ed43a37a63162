"""Dialect helpers: an INSERT that skips rows violating a unique key."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table

__all__ = ["insert_ignore"]


def insert_ignore(connection: Connection, table: Table, keys: list[str]) -> Any:
    """INSERT ... ON CONFLICT (keys) DO NOTHING, on PostgreSQL and SQLite."""
    # The dialect's module is imported here: a SQLite service never loads PostgreSQL's.
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table).on_conflict_do_nothing(index_elements=keys)
    if connection.dialect.name == "sqlite":
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(table).on_conflict_do_nothing(index_elements=keys)
    raise NotImplementedError(f"unsupported database dialect {connection.dialect.name!r}")
