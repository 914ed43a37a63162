"""Engine construction: SQLite (default, embedded) or PostgreSQL through psycopg 3."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Engine, create_engine, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.types import TypeDecorator

__all__ = ["UTCDateTime", "database_url", "make_engine", "redacted_url"]


def database_url(url: str) -> str:
    """The URL with a driver: bare postgres(ql):// URLs get psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def redacted_url(url: str) -> str:
    """The URL for a log line or an error: never its password."""
    return make_url(database_url(url)).render_as_string(hide_password=True)


def make_engine(url: str, connect_timeout: float = 3.0) -> Engine:
    """An engine with bounded connection waits; no connection is made until first use."""
    sa_url = make_url(database_url(url))
    if sa_url.get_backend_name() not in ("sqlite", "postgresql"):
        raise ValueError(
            f"CDS_DATABASE_URL: unsupported database {sa_url.get_backend_name()!r} "
            "(use sqlite:///path or postgresql://...)"
        )
    connect_args: dict[str, Any] = {}
    if sa_url.get_backend_name() == "sqlite":
        connect_args["timeout"] = max(connect_timeout, 15.0)  # waits for the write lock
    elif sa_url.get_backend_name() == "postgresql":
        connect_args["connect_timeout"] = max(1, round(connect_timeout))
    engine = create_engine(
        sa_url,
        connect_args=connect_args,
        pool_pre_ping=True,
        pool_timeout=max(connect_timeout, 5.0),
    )
    if sa_url.get_backend_name() == "sqlite":
        _sqlite_transactions(engine)
        # A batch of rows as one multi-row INSERT (SQLAlchemy's "insertmanyvalues"), not the
        # driver's executemany, which gives up and retakes the interpreter lock for every
        # row. SQLAlchemy 2.1 applies it only to an INSERT without a post-values clause:
        # the ledger's ON CONFLICT insert still goes through executemany
        # (docs/performance.md).
        engine.dialect.use_insertmanyvalues_wo_returning = True
    return engine


def _sqlite_transactions(engine: Engine) -> None:
    """WAL, foreign keys, and BEGIN IMMEDIATE: concurrent writers queue instead of failing.

    A deferred transaction that reads and then writes gets SQLITE_BUSY at once when another
    writer committed in between; taking the write lock at BEGIN lets the busy timeout work.
    """

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # the driver stops issuing its own BEGIN
        cursor = dbapi_connection.cursor()
        _enable_wal(cursor)
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _enable_wal(cursor: sqlite3.Cursor, attempts: int = 50) -> None:
    """Switch the file to WAL (persistent, so usually already done).

    The switch needs an exclusive lock and does not wait on the busy timeout, so
    concurrent first start-ups on a new file retry it briefly instead of failing.
    """
    for attempt in range(attempts):
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                return
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.02 * (attempt + 1))


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, on PostgreSQL (timestamptz) and SQLite (text) alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
