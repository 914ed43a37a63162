"""Helpers for storage tests: feedback bodies, direct reads, a migrated engine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, Table, select

from cds_service.storage.engine import make_engine
from cds_service.storage.migrate import upgrade

TIMESTAMP = "2026-11-25T10:05:31Z"


def item(card: str, outcome: str = "overridden", **fields: Any) -> dict[str, Any]:
    """One feedback item; accepted items get one accepted suggestion unless given."""
    entry: dict[str, Any] = {"card": card, "outcome": outcome, "outcomeTimestamp": TIMESTAMP}
    if outcome == "accepted" and "acceptedSuggestions" not in fields:
        entry["acceptedSuggestions"] = [{"id": "sugg-1"}]
    entry.update(fields)
    return entry


def reason(code: str, comment: str | None = None, display: str | None = None) -> dict[str, Any]:
    coding = {"system": "urn:test:override-reason", "code": code}
    if display:
        coding["display"] = display
    out: dict[str, Any] = {"reason": coding}
    if comment is not None:
        out["userComment"] = comment
    return out


@contextmanager
def migrated(url: str) -> Iterator[Engine]:
    engine = make_engine(url)
    upgrade(engine)
    try:
        yield engine
    finally:
        engine.dispose()


def rows(url: str, table: Table) -> list[dict[str, Any]]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            result = connection.execute(select(table).order_by(table.c.id))
            return [dict(row._mapping) for row in result]
    finally:
        engine.dispose()
