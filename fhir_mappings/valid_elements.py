"""Element values already found valid, remembered by digest: a value that recurs is
validated once.

Most of a resource's validation cost is its nested elements (fhir.resources runs
Python validators on every CodeableConcept, Coding, Reference...), and most of
those recur: the EDSS code, a condition's clinical status, a DMT's coding, the
patient reference on every resource of a record. Validity of an element is a
function of its content and its place (resource type and element name) only, so
once a trimmed resource validated, the digest of each of its complex elements is
kept; the next resource with the same content at the same place is validated
with a content-free placeholder of the element's type there (so presence,
cardinality and choice-of-type checks still run on the resource) instead.

Only 16-byte BLAKE2b digests are kept, never content: nothing of a patient stays
in memory. Bounded: emptied when full. `enabled=False` (or size 0) turns it off.
"""

from __future__ import annotations

import hashlib
import typing
from functools import cache
from typing import Any

import orjson

__all__ = ["ValidElements"]


class ValidElements:
    """Digests of (resource type, element name, element JSON) known to be valid."""

    def __init__(self, max_size: int = 8192) -> None:
        self.max_size = max_size
        self._seen: set[bytes] = set()

    def __len__(self) -> int:
        return len(self._seen)

    def substitute(
        self, resource_type: str, model: Any, data: dict[str, Any]
    ) -> tuple[dict[str, Any], list[bytes]]:
        """`data` with each known-valid complex element replaced by a placeholder, and
        the digests of the others (to `learn` once the resource validated)."""
        if self.max_size <= 0:
            return data, []
        checked = data
        unknown: list[bytes] = []
        for name, value in data.items():
            if not isinstance(value, dict | list):
                continue
            placeholder = _placeholder(model, name)
            if placeholder is None:
                continue
            try:
                content = orjson.dumps(value)
            except (orjson.JSONEncodeError, TypeError):
                continue  # not encodable as sent (e.g. past 64-bit integers): validate it
            key = hashlib.blake2b(
                content, digest_size=16, person=_person(resource_type, name)
            ).digest()
            if key in self._seen:
                if checked is data:
                    checked = dict(data)
                checked[name] = placeholder
            else:
                unknown.append(key)
        return checked, unknown

    def learn(self, keys: list[bytes]) -> None:
        """Remember elements of a resource that validated."""
        if not keys or self.max_size <= 0:
            return
        if len(self._seen) + len(keys) > self.max_size:
            self._seen.clear()
        self._seen.update(keys)

    def clear(self) -> None:
        self._seen.clear()


@cache
def _person(resource_type: str, name: str) -> bytes:
    # BLAKE2b personalisation (at most 16 bytes): the place is part of the digest.
    return hashlib.blake2b(f"{resource_type}.{name}".encode(), digest_size=16).digest()


@cache
def _placeholder(model: Any, name: str) -> Any:
    """A content-free instance of the element's type at `name` (a one-item list for a
    repeating element), or None where there is none to make (primitives, resources)."""
    field = _field_by_json_name(model).get(name)
    if field is None:
        return None
    element_type, repeats = _element_type(field.annotation)
    if element_type is None:
        return None
    klass = element_type.get_model_klass()
    from fhir.resources.R4B.resource import Resource

    if issubclass(klass, Resource):
        return None  # contained resources: a placeholder would not stand in for one
    instance = klass.model_construct()
    return [instance] if repeats else instance


@cache
def _field_by_json_name(model: Any) -> dict[str, Any]:
    return {(info.alias or name): info for name, info in model.model_fields.items()}


def _element_type(annotation: Any) -> tuple[Any, bool]:
    """(the fhir_core element type, repeats) of a field annotation, or (None, False)."""
    repeats = False
    while True:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        origin = typing.get_origin(annotation)
        if origin in (list, typing.List):  # noqa: UP006 (annotations use both)
            repeats = True
            annotation = args[0] if args else None
            continue
        if origin is not None and len(args) == 1:  # X | None, Optional[X]
            annotation = args[0]
            continue
        break
    if annotation is None or not hasattr(annotation, "get_model_klass"):
        return None, False
    return annotation, repeats
