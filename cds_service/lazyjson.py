"""Prefetch values kept as the JSON text they arrived as, decoded when first read.

Most hook calls never read the patient's record: an order-select for a lab test
needs only its draft orders. Yet the prefetch is most of a request's bytes, and
decoding it (and checking its depth) was most of what such a call cost. So the
request body is split into its members first (msgspec checks the whole text is
valid JSON, at C speed, without building the values), and each prefetch value
stays a `RawJson` until something reads it: `LazyValues` is the mapping the
patient record holds, decoding a value on first access.

What a value decodes to does not depend on when: the same decoder, depth check
and pruning as the rest of the body (`cds_service.limits`). The facts cache keys
an undecoded value by a digest of its text (`content_view`), so a cache lookup
does not decode it either.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import msgspec

__all__ = ["LazyValues", "RawJson", "split_hook_body", "split_object"]

_SPLIT = msgspec.json.Decoder(dict[str, msgspec.Raw])
_UNSET = object()
# A key no decoded FHIR value uses: marks an undecoded value's digest in content_view.
RAW_DIGEST_KEY = "urn:ms-cds:raw-json-blake2b"


class _Envelope(msgspec.Struct, forbid_unknown_fields=True):
    """The CDS Hooks 2.0 request members, each left as its JSON text; the prefetch
    object's members too. Anything else (an unknown member, a prefetch that is not an
    object) does not fit, and the body is split the general way instead."""

    hook: msgspec.Raw | msgspec.UnsetType = msgspec.UNSET
    hookInstance: msgspec.Raw | msgspec.UnsetType = msgspec.UNSET
    fhirServer: msgspec.Raw | msgspec.UnsetType = msgspec.UNSET
    fhirAuthorization: msgspec.Raw | msgspec.UnsetType = msgspec.UNSET
    context: msgspec.Raw | msgspec.UnsetType = msgspec.UNSET
    prefetch: dict[str, msgspec.Raw] | msgspec.UnsetType = msgspec.UNSET
    extension: msgspec.Raw | msgspec.UnsetType = msgspec.UNSET


_ENVELOPE = msgspec.json.Decoder(_Envelope)
_MEMBERS = tuple(f for f in _Envelope.__struct_fields__ if f != "prefetch")


def split_hook_body(raw: bytes) -> tuple[dict[str, bytes], dict[str, bytes] | None] | None:
    """(members other than prefetch, prefetch's members or None when absent) of a
    request body that has the envelope's members only, in one pass; None otherwise."""
    try:
        envelope = _ENVELOPE.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return None
    members = _texts(
        {
            name: value
            for name in _MEMBERS
            if isinstance(value := getattr(envelope, name), msgspec.Raw)
        }
    )
    if members is None:
        return None
    if not isinstance(envelope.prefetch, dict):
        return members, None
    values = _texts(envelope.prefetch)
    return None if values is None else (members, values)


def _texts(raws: dict[str, msgspec.Raw]) -> dict[str, bytes] | None:
    """Each member's JSON text, or None when one is not UTF-8: msgspec skips a member
    without checking its strings, which orjson would refuse. ASCII (the usual case) is
    checked at memory speed."""
    texts = {key: bytes(value) for key, value in raws.items()}
    for text in texts.values():
        if not text.isascii():
            try:
                text.decode("utf-8")
            except UnicodeDecodeError:
                return None
    return texts


def split_object(raw: bytes | memoryview) -> dict[str, bytes] | None:
    """The members of a JSON object as their JSON texts (checked valid JSON and UTF-8),
    or None when `raw` is not a JSON object msgspec reads (then decode it whole, the
    strict way, for exactly the strict answers)."""
    try:
        return _texts(_SPLIT.decode(raw))
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return None


class RawJson:
    """One JSON value as sent; `value` decodes it once (with `decode`) and keeps it."""

    __slots__ = ("_decode", "_value", "raw")

    def __init__(self, raw: bytes, decode: Callable[[bytes], Any]) -> None:
        self.raw = raw
        self._decode = decode
        self._value: Any = _UNSET

    @property
    def value(self) -> Any:
        if self._value is _UNSET:
            self._value = self._decode(self.raw)
        return self._value

    @property
    def decoded(self) -> bool:
        return self._value is not _UNSET

    def may_hold(self, text: bytes) -> bool:
        """False only when the decoded value cannot contain the string `text` (ASCII):
        it is not in the JSON text, and no escape could spell it."""
        raw = self.raw
        # memchr for one backslash first: a two-byte search is several times slower.
        return self.decoded or text in raw or (b"\\" in raw and b"\\u" in raw)

    def __repr__(self) -> str:  # never the content: it may be PHI
        return f"RawJson({len(self.raw)} bytes)"


def value_of(value: Any) -> Any:
    """A value as decoded JSON, whether it is still a RawJson or not."""
    return value.value if isinstance(value, RawJson) else value


class LazyValues(Mapping[str, Any]):
    """A mapping whose RawJson values are decoded when first read."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, Any]) -> None:
        self._items = dict(items)

    def __getitem__(self, key: str) -> Any:
        return value_of(self._items[key])

    def __contains__(self, key: object) -> bool:  # Mapping's default would decode
        return key in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def content_view(self) -> dict[str, Any]:
        """What the values are, for a content key: decoded values as they are, an
        undecoded one as a digest of its JSON text (so it is not decoded for this)."""
        return {
            key: (
                {RAW_DIGEST_KEY: hashlib.blake2b(item.raw, digest_size=20).hexdigest()}
                if isinstance(item, RawJson) and not item.decoded
                else value_of(item)
            )
            for key, item in self._items.items()
        }

    def __repr__(self) -> str:
        return f"LazyValues({list(self._items)})"
