"""Reading FHIR R4 JSON as sent: the one way the mappings read resources.

Every mapping reads resources through `Resource` (and the `Element`s inside it).
A reader looks only at the element it is asked for: a wrong JSON type, a date
that is no FHIR date, a number that is no number never raises; the element is
skipped and a `ParseNote` says where (resource type, id, element path) and what
was wrong, never the value (values can be PHI). An element nobody reads is never
looked at, so the damage of an unrelated resource costs nothing and fails nothing.

Incoming resources are not validated with fhir.resources: the mappings read a
handful of elements, and validating whole resources cost most of a request while
changing no fact. fhir.resources R4B builds and validates what the service itself
creates (cards/proposals.py).
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

from fhir_mappings.dates import parse_span
from fhir_mappings.facts import DateSpan, ParseNote, Problem
from fhir_mappings.textcap import folded_part

__all__ = [
    "Concept",
    "Element",
    "Reference",
    "Resource",
    "Resources",
    "flatten",
    "target_of",
]

_EMPTY: tuple[Any, ...] = ()


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


class Concept(NamedTuple):
    """A CodeableConcept as read: its (system, code) pairs, and its texts (`text`, then
    the codings' displays) with whitespace runs as one space, each text once. A tuple:
    cheap to make and to hash (matches are remembered by concept within one read)."""

    codings: tuple[tuple[str | None, str], ...]
    texts: tuple[str, ...]
    # Each text as the value sets match it, case-folded (valuesets.keywords.fold_case),
    # when the concept was read (Element.concept: its texts cut to the matched length)
    # and its texts are ASCII: then every set matches them as they are. None otherwise
    # (each set prepares the texts itself, to the same answers).
    folded: tuple[str, ...] | None = None

    def __bool__(self) -> bool:
        return bool(self.codings or self.texts)

    @property
    def text(self) -> str | None:
        return self.texts[0] if self.texts else None


_NO_CONCEPT = Concept((), ())
# A Concept made without NamedTuple's generated __new__ (one per concept read).
_new_concept = partial(tuple.__new__, Concept)


@dataclass(frozen=True, slots=True)
class Reference:
    """A Reference as read: the `reference` string and the `display`, either may be None."""

    reference: str | None
    display: str | None


def target_of(reference: str | None) -> tuple[str, str] | None:
    """(type, id) of 'Type/id', a full URL or a versioned reference ending in it; else None."""
    parts = (reference or "").rstrip("/").split("/")
    if len(parts) >= 4 and parts[-2] == "_history":
        parts = parts[:-2]  # Type/id/_history/vid
    if len(parts) < 2 or not parts[-2] or not parts[-1]:
        return None  # 'x', '/', 'Condition/', '/id': nothing to resolve
    return parts[-2], parts[-1]


# Where an element belongs, for its notes: (resource type, id, the read's note list).
# A tuple, not the Resource: nothing a read makes refers back to what refers to it, so
# reference counting frees each request's objects at once (no work left for the
# cyclic garbage collector, nothing of a request kept until it runs).
_Origin = tuple[str, str | None, list[ParseNote]]


class Element:
    """One JSON object inside a resource (or the resource itself), read defensively."""

    __slots__ = ("_data", "_origin", "_path")

    def __init__(self, data: dict[str, Any], origin: _Origin, path: str) -> None:
        self._data = data
        self._origin = origin
        self._path = path

    def __contains__(self, name: str) -> bool:
        return name in self._data

    def _where(self, name: str) -> str:
        return f"{self._path}.{name}" if self._path else name

    def _note(self, element: str, problem: Problem) -> None:
        resource_type, resource_id, notes = self._origin
        notes.append(
            ParseNote(
                resource_type=resource_type,
                resource_id=resource_id,
                element=element,
                problem=problem,
            )
        )

    def _wrong(self, name: str, value: Any) -> None:
        """Note a present element of the wrong type (callers skip absent ones, the usual
        case, without a call)."""
        if value is not None:
            self._note(self._where(name), Problem.WRONG_TYPE)

    def _object(self, name: str) -> dict[str, Any] | None:
        value = self._data.get(name)
        if isinstance(value, dict):
            return value
        if value is not None:
            self._wrong(name, value)
        return None

    def _list(self, name: str, lone: bool = False) -> list[Any]:
        """A repeating element's items; `lone`: a single object counts as one item."""
        value = self._data.get(name)
        if isinstance(value, list):
            return value
        if lone and isinstance(value, dict):
            return [value]
        if value is not None:
            self._wrong(name, value)
        return []

    # -- primitives ---------------------------------------------------------------

    def string(self, name: str) -> str | None:
        """A non-blank string (a `code`, `string`, `id`...)."""
        value = self._data.get(name)
        if isinstance(value, str):
            return value if value.strip() else None
        if value is not None:
            self._wrong(name, value)
        return None

    def code(self, name: str) -> str | None:
        """A `code` element, stripped and lower-cased (statuses, intents)."""
        value = self.string(name)
        return value.strip().lower() if value else None

    def number(self, name: str) -> float | None:
        """A `decimal` (a JSON boolean is not a number)."""
        value = self._data.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if value is not None:
            self._wrong(name, value)
        return None

    def integer(self, name: str) -> int | None:
        """An `integer` (not a boolean, not a number with a fraction part)."""
        value = self._data.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if value is not None:
            self._wrong(name, value)
        return None

    def boolean(self, name: str) -> bool | None:
        """A `boolean` (a string "true" is not one)."""
        value = self._data.get(name)
        if isinstance(value, bool):
            return value
        if value is not None:
            self._wrong(name, value)
        return None

    def date(self, name: str) -> DateSpan | None:
        """A `date`, `dateTime` or `instant` as the span of days it can mean."""
        value = self._data.get(name)
        if value is None:
            return None
        span = parse_span(value)
        if span is None:
            problem = Problem.INVALID_DATE if isinstance(value, str) else Problem.WRONG_TYPE
            self._note(self._where(name), problem)
        return span

    # -- complex types ------------------------------------------------------------

    def child(self, name: str) -> Element | None:
        """A single nested element (a backbone element or a complex type)."""
        data = self._object(name)
        return Element(data, self._origin, self._where(name)) if data is not None else None

    def children(self, name: str) -> list[Element]:
        """The items of a repeating nested element; items of a wrong type are noted."""
        if name not in self._data:
            return []
        where = self._where(name)
        out = []
        for i, item in enumerate(self._list(name)):
            if isinstance(item, dict):
                out.append(Element(item, self._origin, f"{where}[{i}]"))
            else:
                self._note(f"{where}[{i}]", Problem.WRONG_TYPE)
        return out

    def concept(self, name: str) -> Concept:
        """A CodeableConcept (empty when absent or unreadable: an empty Concept is falsy)."""
        value = self._data.get(name)
        if value is None:
            return _NO_CONCEPT
        if value.__class__ is not dict:
            self._note(self._where(name), Problem.WRONG_TYPE)
            return _NO_CONCEPT
        return self._read_concept(value, name)

    def concepts(self, name: str, lone: bool = False) -> list[Concept]:
        """A repeating CodeableConcept (reasonCode...). `lone`: a single one counts too
        (statusReason repeats in MedicationStatement, not in MedicationRequest)."""
        out = []
        for i, item in enumerate(self._list(name, lone)):
            if isinstance(item, dict):
                out.append(self._read_concept(item, f"{name}[{i}]"))
            else:
                self._note(f"{self._where(name)}[{i}]", Problem.WRONG_TYPE)
        return out

    def _read_concept(self, value: dict[str, Any], name: str) -> Concept:
        """Hot: every resource's code goes through here (a record holds thousands)."""
        codings: list[tuple[str | None, str]] = []
        texts: list[str] = []
        text = value.get("text")
        if text.__class__ is str:
            text = folded_part(text)  # a concept's text is matched up to the limit
            if text:
                texts.append(text)
        elif text is not None:
            self._note(f"{self._where(name)}.text", Problem.WRONG_TYPE)
        items = value.get("coding")
        if items.__class__ is not list:
            if items is not None:
                self._note(f"{self._where(name)}.coding", Problem.WRONG_TYPE)
            items = _EMPTY
        for i, coding in enumerate(items):
            if coding.__class__ is not dict:
                self._note(f"{self._where(name)}.coding[{i}]", Problem.WRONG_TYPE)
                continue
            code = coding.get("code")
            if code.__class__ is str and code.strip():
                system = coding.get("system")
                codings.append((system if system.__class__ is str and system else None, code))
            elif code is not None and code.__class__ is not str:
                self._note(f"{self._where(name)}.coding[{i}].code", Problem.WRONG_TYPE)
            display = coding.get("display")
            if display.__class__ is str:
                if display != text:  # most often the display is the text: read once
                    display = folded_part(display)
                    if display and display not in texts:
                        texts.append(display)
            elif display is not None:
                self._note(f"{self._where(name)}.coding[{i}].display", Problem.WRONG_TYPE)
        folded: tuple[str, ...] | None = None
        if len(texts) == 1:
            only = texts[0]
            if only.isascii():
                folded = (only.lower(),)
        elif texts and all(t.isascii() for t in texts):
            folded = tuple(t.lower() for t in texts)
        return _new_concept((tuple(codings), tuple(texts), folded))

    def status(self, name: str) -> str | None:
        """A status CodeableConcept's first code, lower-cased; STU3's plain string form is
        read too (a refuted diagnosis must never read as current for want of R4 form)."""
        value = self._data.get(name)
        if isinstance(value, str):
            return value.strip().lower() or None
        for _, code in self.concept(name).codings:
            return code.strip().lower()
        return None

    def reference(self, name: str) -> Reference | None:
        data = self._object(name)
        return _reference(data) if data is not None else None

    def references(self, name: str) -> list[Reference]:
        where = self._where(name)
        out = []
        for i, item in enumerate(self._list(name)):
            if isinstance(item, dict):
                out.append(_reference(item))
            else:
                self._note(f"{where}[{i}]", Problem.WRONG_TYPE)
        return out

    def period(self, name: str) -> tuple[DateSpan | None, DateSpan | None]:
        """A Period's (start, end)."""
        period = self.child(name)
        return (period.date("start"), period.date("end")) if period else (None, None)

    def quantity(self, name: str) -> float | None:
        """A Quantity's `value`."""
        quantity = self.child(name)
        return quantity.number("value") if quantity else None


def _reference(data: dict[str, Any]) -> Reference:
    return Reference(_text(data.get("reference")), _text(data.get("display")))


class Resource(Element):
    """One resource of a request: its type, id and elements, read as sent."""

    __slots__ = ("_concepts", "_pool", "id", "type")

    def __init__(self, data: dict[str, Any], resource_type: str, pool: Resources) -> None:
        # Element.__init__ written out: one of these is made per resource of a record.
        rid = data.get("id")
        self.id = rid if rid.__class__ is str and rid else None
        self.type = resource_type
        self._data, self._path = data, ""
        self._origin = (resource_type, self.id, pool.notes)  # notes in reading order
        self._pool = pool.weak  # the pool holds its resources: no cycle back
        self._concepts: dict[str, Concept] | None = None

    def concept(self, name: str) -> Concept:
        """As Element.concept, read once per resource: several readers ask for the same
        resource's code (conditions, orders, MSC history), and a concept is immutable."""
        memo = self._concepts
        if memo is None:
            memo = self._concepts = {}
        found = memo.get(name)
        if found is None:
            found = memo[name] = Element.concept(self, name)
        return found

    @property
    def ref(self) -> str:
        """'Type/id' (just the type when the resource has no id)."""
        return f"{self.type}/{self.id}" if self.id else self.type

    def resolve(self, reference: Reference | None) -> Resource | None:
        """The resource a reference points to: contained ('#id'), else in the pool."""
        if reference is None or reference.reference is None:
            return None
        ref = reference.reference
        if ref.startswith("#"):
            wanted = ref[1:]
            for item in self._list("contained"):
                if isinstance(item, dict) and item.get("id") == wanted:
                    rtype = item.get("resourceType")
                    name = rtype if isinstance(rtype, str) else "Unknown"
                    pool = self._pool()
                    return Resource(item, name[:64], pool) if pool is not None else None
            return None
        pool = self._pool()
        return pool.find(ref) if pool is not None else None


def flatten(value: Any) -> list[dict[str, Any]]:
    """The resources in a prefetch value or draftOrders: a resource, or a Bundle's entries
    (nested Bundles flattened); anything that is not a JSON object is left out."""
    if not isinstance(value, dict):
        return []
    if value.get("resourceType") != "Bundle":
        return [value]
    entries = value.get("entry")
    out: list[dict[str, Any]] = []
    for entry in entries if isinstance(entries, list) else _EMPTY:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict):
            if resource.get("resourceType") == "Bundle":
                out.extend(flatten(resource))
            else:
                out.append(resource)
    return out


def _seen_before(item: dict[str, Any], rtype: str, seen: set[Any]) -> bool:
    rid = item.get("id")
    if rid.__class__ is str and rid:
        key: Any = (rtype, rid)
    else:
        try:
            key = json.dumps(item, sort_keys=True, default=str)
        except (TypeError, ValueError):  # not JSON-like: cannot be compared, keep it
            return False
    if key in seen:
        return True
    seen.add(key)
    return False


class Resources:
    """The resources of one read (the drafts, or the record), indexed once by type (and
    by 'Type/id' when a reference is first followed); the notes of everything read
    through them. Scoped to one request: nothing here outlives it.

    `more`: resources a reference may also point into (a draft's reasonReference into
    the record), indexed only when a reference is not found among the first.
    `unique`: each resource once, by 'Type/id', or by its content when it has no id
    (two searches or two pages can return the same resource).
    """

    __slots__ = ("__weakref__", "_by_ref", "_by_type", "_more", "all", "notes", "weak")

    def __init__(
        self, items: Iterable[Any], more: Iterable[Any] = (), unique: bool = False
    ) -> None:
        self.notes: list[ParseNote] = []
        self.all: list[Resource] = []  # in the order given
        self.weak = weakref.ref(self)  # what each resource holds: one for all of them
        self._by_type: dict[str, list[Resource]] = {}
        self._by_ref: dict[tuple[str, str], Resource] | None = None
        self._more: Iterable[Any] | None = more
        by_type = self._by_type
        seen: set[Any] = set()
        add = self.all.append
        for item in items:
            rtype = item.get("resourceType") if item.__class__ is dict else None
            if rtype.__class__ is not str:
                continue  # no resource type: nothing says how to read it
            if unique:
                rid = item.get("id")
                if rid.__class__ is str and rid:
                    key = (rtype, rid)
                    if key in seen:
                        continue
                    seen.add(key)
                elif _seen_before(item, rtype, seen):
                    continue
            resource = Resource(item, rtype, self)
            add(resource)
            found = by_type.get(rtype)
            if found is None:
                by_type[rtype] = [resource]
            else:
                found.append(resource)

    def of_type(self, resource_type: str) -> list[Resource]:
        return self._by_type.get(resource_type, [])

    def find(self, reference: str | None) -> Resource | None:
        """The resource 'Type/id' (a full URL or versioned reference ending in it) names."""
        key = target_of(reference)
        if key is None:
            return None
        if self._by_ref is None:
            self._by_ref = {}
            self._add_refs(self.all)
        found = self._by_ref.get(key)
        if found is None and self._more is not None:
            more, self._more = self._more, None
            self._add_refs(
                Resource(item, item["resourceType"], self)
                for item in more
                if item.__class__ is dict and item.get("resourceType").__class__ is str
            )
            found = self._by_ref.get(key)
        return found

    def _add_refs(self, resources: Iterable[Resource]) -> None:
        assert self._by_ref is not None  # noqa: S101 (find made it)
        for resource in resources:
            if resource.id is not None:
                self._by_ref.setdefault((resource.type, resource.id), resource)  # first wins

    def parse_notes(self) -> tuple[ParseNote, ...]:
        """What was read and skipped, each note once, in reading order."""
        return tuple(dict.fromkeys(self.notes))
