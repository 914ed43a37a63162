"""Defensive readers for FHIR JSON datatypes (CodeableConcept, Reference, dates).

They accept whatever arrives (wrong types included) and return typed values or
nothing, so a damaged element never raises in a mapping.
"""

from __future__ import annotations

from typing import Any

from fhir_mappings.valuesets import Code, TextPattern, ValueSet

__all__ = [
    "codings",
    "concept_parts",
    "concept_texts",
    "first_str",
    "forget_concepts",
    "match_concept",
    "reference_of",
]


Coding = tuple[str | None, str | None, str | None]


def _str(value: Any) -> str | None:
    # first_str, inlined where it runs hundreds of times per request
    return value if isinstance(value, str) and value.strip() else None


# Each concept is read by several mappings (MS diagnosis, onset, relapse, EDSS, MRI,
# DMT): its codings and texts are worked out once. Keyed by object identity, and the
# entry holds the concept itself, so an id is never reused while its entry lives; the
# memo is emptied when full and after each request's mapping (`forget_concepts`), so
# nothing carries from one request to another. The lists returned are shared: read only.
_MEMO_MAX = 4096
_memo: dict[int, tuple[dict[str, Any], list[Coding], list[str]]] = {}


def _read(concept: dict[str, Any]) -> tuple[list[Coding], list[str]]:
    entry = _memo.get(id(concept))
    if entry is not None and entry[0] is concept:
        return entry[1], entry[2]
    found = _codings(concept)
    text = _str(concept.get("text"))
    texts = [text] if text else []
    texts.extend(display for _, _, display in found if display)
    # Normalised, each once (a text usually repeats the display): fewer matches to run.
    texts = list(dict.fromkeys(" ".join(t.split()) for t in texts))
    if len(_memo) >= _MEMO_MAX:
        _memo.clear()
    _memo[id(concept)] = (concept, found, texts)
    return found, texts


def forget_concepts() -> None:
    """Empty the memo (the end of one request's mapping): it holds no request's data after."""
    _memo.clear()


def codings(concept: Any) -> list[Coding]:
    """(system, code, display) for each coding of a CodeableConcept."""
    if not isinstance(concept, dict):
        return []
    return _read(concept)[0]


def _codings(concept: dict[str, Any]) -> list[Coding]:
    items = concept.get("coding")
    if not isinstance(items, list):
        return []
    return [
        (_str(c.get("system")), _str(c.get("code")), _str(c.get("display")))
        for c in items
        if isinstance(c, dict)
    ]


def concept_texts(concept: Any) -> list[str]:
    """The human-readable strings of a CodeableConcept: text and coding displays.

    Whitespace runs (tabs, line breaks, non-breaking spaces) become one space.
    """
    if not isinstance(concept, dict):
        return []
    return _read(concept)[1]


def concept_parts(concept: Any) -> tuple[list[Coding], list[str]]:
    """`codings` and `concept_texts` of a concept at once (one memo lookup, not two)."""
    if not isinstance(concept, dict):
        return [], []
    return _read(concept)


def match_concept(
    concept: Any, valueset: ValueSet, use_text: bool = True
) -> Code | TextPattern | None:
    """The first code of `valueset` in the concept, else (optionally) a text match."""
    found_codings, texts = concept_parts(concept)
    for system, code, _ in found_codings:
        found = valueset.lookup(system, code)
        if found is not None:
            return found
    if use_text:
        for text in texts:
            pattern = valueset.match_text(text)
            if pattern is not None:
                return pattern
    return None


def first_str(value: Any) -> str | None:
    """A non-empty string, or None for anything else."""
    return value if isinstance(value, str) and value.strip() else None


def reference_of(value: Any) -> str | None:
    """The `reference` string of a Reference element."""
    return first_str(value.get("reference")) if isinstance(value, dict) else None
