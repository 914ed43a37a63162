"""The demo records held for one request: read by id, search by patient (lenient).

Search follows FHIR's lenient handling: the parameters the service's prefetch
templates use are applied (`patient`/`subject`, `_id`, and the tokens `status`,
`intent`, `clinical-status`, `verification-status`, `category`, `code`, with `:not`),
`_count` pages the result (`_offset` is the next page's start); any other parameter
or modifier is ignored, which can only return more, never hide a record.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from cds_service.catalogue import PREFETCH
from demo_data import SITUATIONS, build_records

__all__ = ["SEARCH_PARAMETERS", "DemoStore", "Page", "resource_types"]

Resource = dict[str, Any]
MAX_COUNT = 1000
# Token parameter -> the element(s) it is matched on.
_TOKENS: dict[str, tuple[str, ...]] = {
    "status": ("status",),
    "intent": ("intent",),
    "clinical-status": ("clinicalStatus",),
    "verification-status": ("verificationStatus",),
    "category": ("category",),
    "code": ("code", "medicationCodeableConcept"),
}
SEARCH_PARAMETERS: tuple[tuple[str, str], ...] = (
    ("patient", "reference"),
    ("subject", "reference"),
    ("_id", "token"),
    *((name, "token") for name in _TOKENS),
    ("_count", "number"),
)
_TEMPLATE_TYPE = re.compile(r"([A-Z][A-Za-z]+)(?:[/?]|$)")


def resource_types() -> tuple[str, ...]:
    """Patient, and every resource type a prefetch template of the catalogue reads."""
    found = ["Patient"]
    for template in PREFETCH.values():
        match = _TEMPLATE_TYPE.match(template)
        if match and match.group(1) not in found:
            found.append(match.group(1))
    return tuple(found)


def _patient_of(value: str) -> str:
    """'X', 'Patient/X' or '<base>/Patient/X' -> 'X'."""
    return value.rstrip("/").rsplit("/", 1)[-1]


def _codings(value: Any) -> Iterable[tuple[str | None, str | None]]:
    """(system, code) pairs of a code string, a CodeableConcept, or a list of them."""
    if isinstance(value, str):
        yield None, value
    elif isinstance(value, list):
        for item in value:
            yield from _codings(item)
    elif isinstance(value, dict):
        for coding in value.get("coding") or ():
            if isinstance(coding, dict):
                yield coding.get("system"), coding.get("code")


def _token_matches(resource: Resource, elements: Sequence[str], token: str) -> bool:
    system, bar, code = token.rpartition("|")
    for element in elements:
        for have_system, have_code in _codings(resource.get(element)):
            if have_code != code:
                continue
            if not bar or have_system == (system or None):
                return True
    return False


def _subject(resource: Resource) -> str | None:
    if resource["resourceType"] == "Patient":
        return str(resource["id"])
    reference = (resource.get("subject") or resource.get("patient") or {}).get("reference")
    return _patient_of(reference) if isinstance(reference, str) else None


@dataclass(frozen=True)
class Page:
    resources: list[Resource]
    total: int
    next_offset: int | None


class DemoStore:
    """One day's demo records (built per request: dated relative to that day)."""

    def __init__(self, records: Mapping[str, list[Resource]]) -> None:
        self._all = [r for resources in records.values() for r in resources]

    @classmethod
    def for_day(cls, today: date) -> DemoStore:
        return cls(build_records(SITUATIONS, today))

    def read(self, resource_type: str, resource_id: str) -> Resource | None:
        return next(
            (r for r in self._all if r["resourceType"] == resource_type and r["id"] == resource_id),
            None,
        )

    def search(self, resource_type: str, params: Mapping[str, Sequence[str]]) -> Page:
        """Every parameter must hold (AND); values of one parameter are alternatives (OR)."""
        found = [r for r in self._all if r["resourceType"] == resource_type]
        for name, values in params.items():
            base, _, modifier = name.partition(":")
            alternatives = [v for value in values for v in value.split(",") if v]
            if not alternatives:
                continue
            if base in ("patient", "subject") and not modifier:
                wanted = {_patient_of(v) for v in alternatives}
                found = [r for r in found if _subject(r) in wanted]
            elif base == "_id" and not modifier:
                found = [r for r in found if r["id"] in alternatives]
            elif base in _TOKENS and modifier in ("", "not"):
                elements = _TOKENS[base]
                keep = modifier == ""
                found = [
                    r
                    for r in found
                    if any(_token_matches(r, elements, t) for t in alternatives) == keep
                ]
        count = _number(params.get("_count"), MAX_COUNT, MAX_COUNT)
        offset = _number(params.get("_offset"), 0, len(found))
        page = found[offset : offset + count]
        more = count > 0 and offset + count < len(found)  # _count=0: the total only
        return Page(page, len(found), offset + count if more else None)


def _number(values: Sequence[str] | None, default: int, limit: int) -> int:
    """The last value as a whole number in 0..limit; the default when absent or not one."""
    if not values:
        return default
    try:
        number = int(values[-1])
    except ValueError:
        return default
    return max(0, min(number, limit))
