"""Tri-state judgements with evidence: what a rule knows, how sure, and from where.

A criterion is met, not met, or unknown (the record cannot decide it); an
unknown one says what to record (`gap`). Dates are shown at the precision the
record gives.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from fhir_mappings.dates import add_months
from fhir_mappings.facts import DateSpan, PatientFacts

__all__ = ["Criterion", "Status", "all_of", "in_window", "unavailable_gap", "window_start"]


class Status(StrEnum):
    MET = "met"
    NOT_MET = "not met"
    UNKNOWN = "unknown"


class Criterion(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    label: str
    status: Status
    value: str | None = None
    date: str | None = None
    sources: tuple[str, ...] = ()
    gap: str | None = None

    def explain(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


def window_start(today: date, months: int) -> date:
    """The first day inside a look-back window of `months` calendar months."""
    return add_months(today, -months)


def in_window(span: DateSpan | None, start: date, today: date) -> bool | None:
    """Certainly inside [start, today] -> True; certainly outside -> False; else None."""
    if span is None:
        return None
    earliest = span.earliest
    if earliest > today:
        return False  # a future date is not activity in the window
    if earliest >= start:  # DateSpan.on_or_after(start), inlined: called per event
        return True
    return False if span.latest < start else None


def all_of(values: list[bool | None]) -> bool | None:
    """Three-valued AND."""
    if any(v is False for v in values):
        return False
    if all(v is True for v in values):
        return True
    return None


def unavailable_gap(facts: PatientFacts, *keys: str) -> str | None:
    """'observations could not be retrieved' when one of these prefetch keys was missing."""
    missing = [k for k in keys if k in facts.unavailable]
    if not missing:
        return None
    return f"{' and '.join(missing)} could not be retrieved"
