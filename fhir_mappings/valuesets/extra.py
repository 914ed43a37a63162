"""Settings kept in a value set file beside its codes (windows, cut-offs, code ranges),
each with its source in the same file. Read once; returned as immutable values."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

__all__ = ["answers", "mapping", "number", "ranges", "strings", "text"]


@cache
def _raw(name: str) -> dict[str, Any]:
    path = resources.files("fhir_mappings.valuesets").joinpath(f"{name}.json")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _sourced(name: str, key: str) -> Any:
    raw = _raw(name)
    value = raw[key]
    if not (raw.get(f"{key}_source") or (isinstance(value, dict) and value.get("source"))):
        raise ValueError(f"{name}: {key} names no source")
    return value


@cache
def number(name: str, key: str) -> float:
    """A numeric setting (a window in days or months, a dose, a cut-off)."""
    value = _sourced(name, key)
    return float(value)


@cache
def text(name: str, key: str) -> str:
    return str(_sourced(name, key))


@cache
def strings(name: str, key: str) -> frozenset[str]:
    return frozenset(_sourced(name, key))


@cache
def ranges(name: str, key: str) -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    """Code prefixes with excluded [low, high] ranges: ((prefix, ((lo, hi), ...)), ...)."""
    entries = _raw(name)[key]
    if not all(e.get("source") for e in entries):
        raise ValueError(f"{name}: an entry of {key} names no source")
    return tuple((e["prefix"], tuple((lo, hi) for lo, hi in e["excluded_ranges"])) for e in entries)


@cache
def mapping(name: str, key: str) -> Mapping[str, float]:
    """Named numbers (cut-offs) from one sourced object, the 'source' key left out."""
    value = _sourced(name, key)
    return MappingProxyType({k: float(v) for k, v in value.items() if k != "source"})


@cache
def answers(name: str) -> Mapping[tuple[str, str], str]:
    """Coded answers: (system, code) -> result, each entry naming its source."""
    entries = _raw(name)["answers"]
    if not all(e.get("source") for e in entries):
        raise ValueError(f"{name}: an answer names no source")
    return MappingProxyType({(e["system"], e["code"]): e["result"] for e in entries})
