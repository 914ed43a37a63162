"""A content key for derived patient facts: the same record always gives the same key.

The key hashes the canonical JSON (sorted keys, compact) of everything the
patient facts are derived from: the patient id, the prefetch values, what was
missing and why, plus the caller's salt (date, rule settings) and the mapping
version (value set files, fact schema, knowledge version). Any change to the
record, however small, changes the key, so a cache keyed by it is never stale.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

import orjson

from fhir_mappings.build import PatientRecord
from fhir_mappings.facts import PatientFacts

__all__ = ["mapping_version", "record_key"]


@cache
def mapping_version() -> str:
    """Digest of what turns resources into facts: value sets and the fact schema."""
    digest = hashlib.blake2b(digest_size=12)
    folder = resources.files("fhir_mappings.valuesets")
    for name in sorted(p.name for p in folder.iterdir() if p.name.endswith(".json")):
        digest.update(name.encode() + b"\0" + folder.joinpath(name).read_bytes())
    digest.update(orjson.dumps(PatientFacts.model_json_schema(), option=orjson.OPT_SORT_KEYS))
    return digest.hexdigest()


def _content(prefetch: Mapping[str, Any]) -> dict[str, Any]:
    # A mapping that decodes its values on first read (the HTTP edge's) can say what
    # they are without decoding them: a digest of the JSON text as sent.
    view = getattr(prefetch, "content_view", None)
    return view() if callable(view) else dict(prefetch)


def record_key(record: PatientRecord, salt: str = "") -> str:
    """The record's content key (hex). `salt`: anything else the facts depend on."""
    material = {
        "v": mapping_version(),
        "salt": salt,
        "patient": record.patient_id,
        "missing": dict(record.missing or {}),
        "prefetch": _content(record.prefetch),
    }
    try:
        canonical = orjson.dumps(material, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    except TypeError:
        # orjson refuses integers past 64 bits, which the stdlib decoder lets through in
        # damaged data; the stdlib encoder is canonical too, only slower.
        canonical = json.dumps(material, sort_keys=True, default=str).encode()
    return hashlib.blake2b(canonical, digest_size=20).hexdigest()
