"""Lenient FHIR R4 parsing: validate what the rules use, repair what can be repaired.

Real EHR payloads are messy (the spec's own R4 order-sign example carries an
STU3-style `doseQuantity` under `dosageInstruction`). A resource is validated
with `fhir.resources.R4B`; when validation fails, the offending elements are
dropped one by one and the rest re-validated, so one bad element never hides a
resource. What was dropped or skipped is noted by resource type, id and element
path only: never a value (values can be PHI).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from fhir_mappings.valid_elements import ValidElements

__all__ = [
    "USED_ELEMENTS",
    "VALID_ELEMENTS",
    "ParseNote",
    "Resource",
    "ResourcePool",
    "configure_validation_memo",
    "flatten",
    "validate_resource",
]

_MAX_REPAIR_ROUNDS = 4
# Process-wide: element values found valid, by digest (see valid_elements).
VALID_ELEMENTS = ValidElements()


def configure_validation_memo(max_size: int) -> None:
    """A fresh memo of `max_size` digests (0: off), e.g. from the service's settings."""
    global VALID_ELEMENTS
    VALID_ELEMENTS = ValidElements(max_size)


@dataclass(frozen=True)
class ParseNote:
    """Something the parser dropped or skipped. No values, only where."""

    resource_type: str
    resource_id: str | None
    element: str
    problem: str

    def __str__(self) -> str:
        ref = f"{self.resource_type}/{self.resource_id}" if self.resource_id else self.resource_type
        where = f" {self.element}" if self.element else ""
        return f"{ref}{where}: {self.problem}"


@dataclass(frozen=True)
class Resource:
    """A resource as the mappings read it: JSON with every invalid element removed.

    `validated` is False when no repair could make it valid (e.g. a required
    element is missing); such a resource is still readable defensively.
    """

    resource_type: str
    id: str | None
    data: dict[str, Any]
    validated: bool
    notes: tuple[ParseNote, ...] = ()
    # True when `data` is a repair (elements dropped): mappings then re-read it.
    repaired: bool = False

    @property
    def ref(self) -> str:
        return f"{self.resource_type}/{self.id}" if self.id else self.resource_type


def _strip_nulls(value: Any) -> Any:
    """FHIR JSON forbids nulls and empty arrays/objects outside primitive extensions."""
    if isinstance(value, dict):
        cleaned = {}
        for key, item in value.items():
            item = _strip_nulls(item)
            if item is None or item == [] or item == {}:
                continue
            cleaned[key] = item
        return cleaned
    if isinstance(value, list):
        return [c for c in (_strip_nulls(i) for i in value) if c is not None and c != {}]
    return value


def _remove_path(data: Any, path: tuple[int | str, ...]) -> bool:
    """Delete the element at `path`; empty parents are left for `_strip_nulls`."""
    parent = data
    for step in path[:-1]:
        try:
            parent = parent[step]
        except (KeyError, IndexError, TypeError):
            return False
    last = path[-1]
    try:
        if isinstance(parent, dict) and isinstance(last, str) and last in parent:
            del parent[last]
            return True
        if isinstance(parent, list) and isinstance(last, int) and 0 <= last < len(parent):
            parent[last] = None
            return True
    except TypeError:
        return False
    return False


def _error_path(error: Any) -> tuple[int | str, ...]:
    loc = tuple(p for p in error["loc"] if isinstance(p, int | str))
    # A missing required element makes its parent invalid: drop the parent.
    if str(error.get("type", "")).endswith("missing"):
        return loc[:-1]
    return loc


def _path_text(path: tuple[int | str, ...]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


# The elements the mappings read, by resource type (plus resourceType and id). Only
# these are validated on the fast path: the other elements are never read, and
# validating them is most of the cost (fhir.resources runs Python validators on every
# nested element). Elements the R4B model does not know are always kept, so they are
# refused (and noted) as before. Keep this in step with the mapping modules.
USED_ELEMENTS: dict[str, frozenset[str]] = {
    "Patient": frozenset({"birthDate"}),
    "Condition": frozenset(
        {
            "code",
            "clinicalStatus",
            "verificationStatus",
            "onsetDateTime",
            "onsetPeriod",
            "onsetAge",
            "recordedDate",
            "subject",
        }
    ),
    "Observation": frozenset(
        {
            "status",
            "code",
            "valueQuantity",
            "valueInteger",
            "valueString",
            "effectiveDateTime",
            "effectivePeriod",
            "effectiveInstant",
            "issued",
            "component",
        }
    ),
    "MedicationRequest": frozenset(
        {
            "status",
            "intent",
            "subject",
            "medicationCodeableConcept",
            "medicationReference",
            "contained",
            "authoredOn",
            "dosageInstruction",
            "dispenseRequest",
            "statusReason",
            "reasonCode",
            "reasonReference",
        }
    ),
    "MedicationStatement": frozenset(
        {
            "status",
            "subject",
            "medicationCodeableConcept",
            "medicationReference",
            "contained",
            "effectiveDateTime",
            "effectivePeriod",
            "statusReason",
        }
    ),
    "ServiceRequest": frozenset(
        {"status", "intent", "subject", "code", "contained", "reasonCode", "reasonReference"}
    ),
    "Procedure": frozenset({"status", "subject", "code", "performedDateTime", "performedPeriod"}),
}


@cache
def _unused_elements(resource_type: str) -> frozenset[str]:
    """The JSON names (and field names) of the model's elements the mappings never read."""
    used = USED_ELEMENTS[resource_type] | {"resourceType", "id"}
    unused: set[str] = set()
    for name, info in _model_class(resource_type).model_fields.items():
        base = name.removesuffix("__ext")
        if base not in used:
            unused.add(name)
            if info.alias:
                unused.add(info.alias)
    return frozenset(unused)


def _trimmed(resource_type: str, raw: dict[str, Any]) -> dict[str, Any] | None:
    """`raw` without the elements no mapping reads; None when the type has no list."""
    if resource_type not in USED_ELEMENTS:
        return None
    unused = _unused_elements(resource_type)
    return {k: v for k, v in raw.items() if k not in unused}


@cache
def _model_class(resource_type: str) -> Any:
    """The R4B model class (the library's lookup imports by name each call: ~15 us)."""
    return get_fhir_model_class(resource_type)


def validate_resource(raw: dict[str, Any]) -> Resource:
    """Validate `raw` as an R4 resource, repairing by dropping invalid elements."""
    resource_type = raw.get("resourceType")
    rid = raw.get("id") if isinstance(raw.get("id"), str) else None
    if not isinstance(resource_type, str):
        note = ParseNote("Unknown", rid, "", "no resourceType")
        return Resource("Unknown", rid, raw, False, (note,))
    try:
        model = _model_class(resource_type)
    except (KeyError, ValueError, AttributeError, ImportError):
        note = ParseNote(resource_type[:64], rid, "", "not an R4 resource type")
        return Resource(resource_type[:64], rid, raw, False, (note,))
    trimmed = _trimmed(resource_type, raw)
    if trimmed is not None:
        checked, unknown = VALID_ELEMENTS.substitute(resource_type, model, trimmed)
        try:
            model.model_validate(checked)
            VALID_ELEMENTS.learn(unknown)
            return Resource(resource_type, rid, trimmed, True)
        except (ValidationError, TypeError, ValueError, RecursionError):
            pass  # the full repair below says exactly what was wrong
    try:
        model.model_validate(raw)
        return Resource(resource_type, rid, raw, True)
    except ValidationError as first_error:
        errors = first_error.errors()
    except (TypeError, ValueError, RecursionError):
        note = ParseNote(resource_type, rid, "", "could not be read")
        return Resource(resource_type, rid, raw, False, (note,))

    try:
        data = _strip_nulls(copy.deepcopy(raw))
    except RecursionError:
        note = ParseNote(resource_type, rid, "", "nested too deeply, read without validation")
        return Resource(resource_type, rid, raw, False, (note,))
    notes: list[ParseNote] = []
    try:
        model.model_validate(data)
        return Resource(resource_type, rid, data, True, repaired=True)
    except ValidationError as again:
        errors = again.errors()
    except (TypeError, ValueError, RecursionError):
        errors = []
    for _ in range(_MAX_REPAIR_ROUNDS if errors else 0):
        paths = {_error_path(e) for e in errors}
        if () in paths:
            break
        for path in sorted(paths, key=len, reverse=True):
            if _remove_path(data, path):
                notes.append(ParseNote(resource_type, rid, _path_text(path), "invalid, dropped"))
        data = _strip_nulls(data)
        try:
            model.model_validate(data)
            return Resource(resource_type, rid, data, True, tuple(notes), repaired=True)
        except ValidationError as again:
            errors = again.errors()
        except (TypeError, ValueError, RecursionError):
            break
    notes.append(ParseNote(resource_type, rid, "", "invalid, read without validation"))
    return Resource(resource_type, rid, raw, False, tuple(notes))


def flatten(value: Any) -> list[dict[str, Any]]:
    """The resources in a prefetch value: a resource, or a Bundle's entries."""
    if not isinstance(value, dict):
        return []
    if value.get("resourceType") == "Bundle":
        entries = value.get("entry")
        if not isinstance(entries, list):
            return []
        out: list[dict[str, Any]] = []
        for entry in entries:
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if isinstance(resource, dict):
                if resource.get("resourceType") == "Bundle":
                    out.extend(flatten(resource))
                else:
                    out.append(resource)
        return out
    return [value]


@dataclass
class ResourcePool:
    """All resources of one request, validated lazily and once each.

    `more` loads further resources (the patient's record, behind the draft orders)
    only when first needed: most orders reference nothing outside their own bundle.
    """

    raw: list[dict[str, Any]]
    more: Callable[[], list[dict[str, Any]]] | None = None
    _by_type: dict[str, list[dict[str, Any]]] = field(default_factory=dict, init=False)
    _by_ref: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict, init=False)
    _validated: dict[int, Resource] = field(default_factory=dict, init=False)
    _drafts: set[int] = field(default_factory=set, init=False)

    def __post_init__(self) -> None:
        self._index(self.raw)

    def _index(self, items: list[dict[str, Any]]) -> None:
        for item in items:
            rtype, rid = item.get("resourceType"), item.get("id")
            if isinstance(rtype, str):
                self._by_type.setdefault(rtype, []).append(item)
                if isinstance(rid, str):
                    # The first resource with a type and id wins (drafts come first).
                    self._by_ref.setdefault((rtype, rid), item)

    def _load_more(self) -> None:
        if self.more is not None:
            load, self.more = self.more, None
            extra = load()
            self.raw = [*self.raw, *extra]
            self._index(extra)

    def of_type(self, resource_type: str) -> list[dict[str, Any]]:
        """Raw resources of one type (unvalidated: filter cheaply, then `get`)."""
        self._load_more()
        return self._by_type.get(resource_type, [])

    def mark_drafts(self, drafts: list[dict[str, Any]]) -> None:
        """Name the resources that are orders being written, not the patient's record."""
        self._drafts.update(id(d) for d in drafts)

    def record(self, resource_type: str) -> list[dict[str, Any]]:
        """Raw resources of one type from the patient's record (draft orders left out)."""
        return [r for r in self.of_type(resource_type) if id(r) not in self._drafts]

    def get(self, raw: dict[str, Any]) -> Resource:
        """The validated (or repaired) form of one raw resource, computed once."""
        key = id(raw)
        found = self._validated.get(key)
        if found is None:
            found = validate_resource(raw)
            self._validated[key] = found
        return found

    def find(self, reference: str | None) -> dict[str, Any] | None:
        """Resolve 'Type/id' (or a fullUrl or versioned reference ending in it) to a resource."""
        parts = (reference or "").rstrip("/").split("/")
        if len(parts) >= 4 and parts[-2] == "_history":
            parts = parts[:-2]  # a versioned reference: Type/id/_history/vid
        if len(parts) < 2 or not parts[-2] or not parts[-1]:
            return None  # 'x', '/', 'Condition/', '/id': not a reference we can resolve
        key = (parts[-2], parts[-1])
        found = self._by_ref.get(key)
        if found is None and self.more is not None:
            self._load_more()
            found = self._by_ref.get(key)
        return found

    @property
    def notes(self) -> list[ParseNote]:
        return [n for r in self._validated.values() for n in r.notes]
