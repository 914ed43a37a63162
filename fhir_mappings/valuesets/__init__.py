"""Code lists as data: each JSON file here is one value set, every code naming its source.

`load(name)` reads a file once and checks it: a code without a `source`, or a
text pattern that does not compile, fails at start-up rather than at a patient.
`searched_codes("Observation")`: every code of the sets whose `searched_in` names that
type, for the prefetch queries that must name codes.

Text matching: a text is prepared once per request (`fhir_mappings.textcap`: cut to the
matched length, whitespace runs as one space, accents folded for the sets that ask),
then each pattern runs only when the text holds one of the literal keywords every match
of that pattern holds (`keywords.required_keywords`, derived from the pattern itself):
most texts hold none and cost one scan for all of a set's keywords (an Aho-Corasick
automaton, pyahocorasick), never a case-insensitive regex scan. The answer is the same
as running every pattern.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib import resources
from typing import TYPE_CHECKING, Any

import ahocorasick

from fhir_mappings.textcap import matched_part, request_memo
from fhir_mappings.valuesets.keywords import fold_case, required_keywords

if TYPE_CHECKING:
    from fhir_mappings.reader import Concept

__all__ = [
    "Code",
    "TextPattern",
    "ValueSet",
    "ValueSetError",
    "all_value_sets",
    "load",
    "none_can_match",
    "searched_codes",
]


class ValueSetError(ValueError):
    """A value set file is broken: missing source, bad pattern, duplicate code."""


@dataclass(frozen=True)
class Code:
    system: str
    code: str
    display: str
    source: str
    attributes: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class TextPattern:
    regex: re.Pattern[str]
    source: str
    attributes: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class ValueSet:
    name: str
    codes: dict[tuple[str, str], Code]
    patterns: tuple[TextPattern, ...]
    system_aliases: dict[str, str]
    # Per pattern (same order): the folded strings of which each of its matches holds
    # one, or None (the pattern always runs). Empty: every pattern always runs.
    keywords: tuple[tuple[str, ...] | None, ...] = field(default=(), compare=False)
    # "fold_accents": texts lose their diacritics before matching, so one ASCII pattern
    # reads "células", "celulas" and "cèlulas" alike (orders are typed in many languages).
    fold_accents: bool = False
    # "searched_in": the resource types whose searches name this set's codes (an EHR
    # such as Epic refuses an Observation search naming no code or category).
    searched_in: tuple[str, ...] = ()

    def _prepared(self, text: str) -> tuple[str, str]:
        """(the text as the patterns see it, its case-folded form for the keywords):
        from the request's memo when this text was prepared before (`textcap`)."""
        memo = request_memo()
        key = (text, self.fold_accents)
        if memo is not None:
            found: tuple[str, str] | None = memo.get(key)
            if found is not None:
                return found
        prepared = " ".join(matched_part(text).split())  # bounded: fhir_mappings.textcap
        if self.fold_accents and not prepared.isascii():  # ASCII has no accents to fold
            decomposed = unicodedata.normalize("NFKD", prepared)
            prepared = "".join(c for c in decomposed if not unicodedata.combining(c))
        result = (prepared, fold_case(prepared))
        if memo is not None:
            memo[key] = result
        return result

    def lookup(self, system: str | None, code: str | None) -> Code | None:
        """The entry for a (system, code) pair, normalising known system aliases."""
        if not system or not code:
            return None
        system = self.system_aliases.get(system, system)
        return self.codes.get((system, code.strip()))

    def match_text(self, text: str | None) -> TextPattern | None:
        """The first pattern found in `text` (case-insensitive), if any.

        Runs of whitespace (tabs, line breaks, non-breaking spaces) count as one
        space, so 'cord\tblood' or 'bone marrow\ntransplant' match as written.
        """
        if not text:
            return None
        return self._first(text)

    def _candidates(self, folded: str) -> Sequence[TextPattern]:
        """The patterns that can match a text whose folded form is `folded`, in order:
        those without keywords, and those with a keyword in the text."""
        if len(self.keywords) != len(self.patterns):
            return self.patterns
        finder, always = self._finder
        hit: set[int] | None = None
        if finder is not None:
            for _, indexes in finder.iter(folded):
                if hit is None:
                    hit = set(always)
                hit.update(indexes)
        if hit is None:  # no keyword in the text, the usual case
            return self._always
        patterns = self.patterns
        return [patterns[i] for i in sorted(hit)]

    @cached_property
    def _always(self) -> tuple[TextPattern, ...]:
        """The patterns without keywords, in order (they run on every text)."""
        return tuple(self.patterns[i] for i in self._finder[1])

    @cached_property
    def _finder(self) -> tuple[ahocorasick.Automaton | None, tuple[int, ...]]:
        """One Aho-Corasick automaton of every keyword (each naming the indexes of the
        patterns it belongs to), so a text is scanned once for all of them, whatever their
        number; and the indexes of the patterns without keywords (they always run)."""
        by_word: dict[str, list[int]] = {}
        for index, words in enumerate(self.keywords):
            for word in words or ():
                by_word.setdefault(word, []).append(index)
        always = tuple(i for i, words in enumerate(self.keywords) if words is None)
        return _automaton({word: tuple(ix) for word, ix in by_word.items()}), always

    def _first(self, text: str) -> TextPattern | None:
        prepared, folded = self._prepared(text)
        return self._first_prepared(prepared, folded)

    def _first_prepared(self, prepared: str, folded: str) -> TextPattern | None:
        for pattern in self._candidates(folded):
            if pattern.regex.search(prepared):
                return pattern
        return None

    def matches(self, text: str) -> list[TextPattern]:
        """Every pattern found in `text`, in file order."""
        prepared, folded = self._prepared(text)
        return [p for p in self._candidates(folded) if p.regex.search(prepared)]

    def match_concept(
        self, concept: Concept, use_text: bool = True, use_codes: bool = True
    ) -> Code | TextPattern | None:
        """The first code of this value set in the concept, else (optionally) the first
        pattern found in its texts (text before displays). `use_codes=False`: the texts
        only (for a caller that has looked the codes up already)."""
        if use_codes:
            lookup = self.lookup
            for system, code in concept.codings:
                found = lookup(system, code)
                if found is not None:
                    return found
        if use_text:
            folded = concept.folded
            if folded is not None:  # read ready to match (reader.Concept.folded)
                for text, low in zip(concept.texts, folded, strict=True):
                    pattern = self._first_prepared(text, low)
                    if pattern is not None:
                        return pattern
                return None
            for text in concept.texts:
                pattern = self._first(text)
                if pattern is not None:
                    return pattern
        return None


_RESERVED = {"system", "code", "display", "source", "confidence", "pattern"}


def _parse(name: str, raw: dict[str, Any]) -> ValueSet:
    codes: dict[tuple[str, str], Code] = {}
    for entry in raw.get("codes", []):
        if not entry.get("source"):
            raise ValueSetError(f"{name}: code {entry.get('code')!r} names no source")
        key = (entry["system"], entry["code"])
        if key in codes:
            raise ValueSetError(f"{name}: duplicate code {key}")
        attributes = {k: v for k, v in entry.items() if k not in _RESERVED}
        codes[key] = Code(
            entry["system"], entry["code"], entry.get("display", ""), entry["source"], attributes
        )
    patterns = []
    for entry in raw.get("text_patterns", []):
        if not entry.get("source"):
            raise ValueSetError(f"{name}: pattern {entry.get('pattern')!r} names no source")
        try:
            regex = re.compile(entry["pattern"], re.IGNORECASE)
        except re.error as exc:
            raise ValueSetError(f"{name}: pattern {entry['pattern']!r}: {exc}") from exc
        attributes = {k: v for k, v in entry.items() if k not in _RESERVED}
        patterns.append(TextPattern(regex, entry["source"], attributes))
    return ValueSet(
        name,
        codes,
        tuple(patterns),
        dict(raw.get("system_aliases", {})),
        tuple(_fewest(required_keywords(p.regex)) for p in patterns),
        bool(raw.get("fold_accents", False)),
        tuple(raw.get("searched_in", ())),
    )


def _fewest(words: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """`words` without those holding another of them (a text with "rituximab-abbs"
    holds "rituximab" too, so "any of them is in the text" needs only the shorter)."""
    if words is None:
        return None
    return tuple(w for w in words if not any(o != w and o in w for o in words))


@cache
def load(name: str) -> ValueSet:
    """Load `<name>.json` from this package (cached for the process)."""
    text = resources.files(__name__).joinpath(f"{name}.json").read_text(encoding="utf-8")
    return _parse(name, json.loads(text))


def _automaton(words: dict[str, Any]) -> ahocorasick.Automaton | None:
    """An Aho-Corasick automaton finding each of `words` (its value with it), or None
    for no words (an empty automaton cannot scan)."""
    if not words:
        return None
    finder = ahocorasick.Automaton()
    for word, value in words.items():
        finder.add_word(word, value)
    finder.make_automaton()
    return finder


@dataclass(frozen=True)
class _Group:
    """What any of several sets could match: every (system, code) a lookup of one of them
    finds (with each alias), one automaton of all their keywords, and whether a text
    could match with no keyword at all (a pattern without keywords)."""

    codes: frozenset[tuple[str, str]]
    finder: ahocorasick.Automaton | None
    keyword_free: bool
    # A set of each accent rule, to prepare a text as the sets themselves do.
    preparers: tuple[ValueSet, ...]


@cache
def _group(names: tuple[str, ...]) -> _Group:
    sets = [load(name) for name in names]
    codes: set[tuple[str, str]] = set()
    words: set[str] = set()
    keyword_free = False
    for valueset in sets:
        for system, code in valueset.codes:
            codes.add((system, code))
            codes.update(
                (alias, code) for alias, to in valueset.system_aliases.items() if to == system
            )
        if len(valueset.keywords) != len(valueset.patterns) or None in valueset.keywords:
            keyword_free = True
        words.update(w for ws in valueset.keywords for w in ws or ())
    finder = _automaton(dict.fromkeys(words))
    preparers = tuple({v.fold_accents: v for v in sets}.values())
    return _Group(frozenset(codes), finder, keyword_free, preparers)


def none_can_match(names: tuple[str, ...], concept: Concept) -> bool:
    """True when none of the sets `names` can match `concept`: no coding is one of their
    codes (aliases included) and no text holds a keyword of any of their patterns (every
    match of a pattern holds one: `keywords.required_keywords`), so each set's
    `match_concept`, `match_text` and `matches` find nothing. A reader that asks many
    sets about one concept (most concepts name none of them) asks once. Each text is
    prepared as the sets prepare it, in the request's memo."""
    group = _group(names)
    for system, code in concept.codings:
        if system and (system, code.strip()) in group.codes:
            return False
    if not concept.texts:
        return True
    if group.keyword_free:
        return False
    finder = group.finder
    if finder is None:
        return True
    if concept.folded is not None:  # ASCII, read ready to match: every set sees these
        for low in concept.folded:
            for _ in finder.iter(low):
                return False
        return True
    for text in concept.texts:
        for preparer in group.preparers:
            for _ in finder.iter(preparer._prepared(text)[1]):
                return False
    return True


def all_value_sets() -> dict[str, ValueSet]:
    """Every value set shipped, loaded and checked (used by the start-up check)."""
    names = sorted(
        p.name.removesuffix(".json")
        for p in resources.files(__name__).iterdir()
        if p.name.endswith(".json")
    )
    return {name: load(name) for name in names}


def searched_codes(resource_type: str) -> list[Code]:
    """Every code of every value set searched in `resource_type`, in file then code order
    (each system|code once)."""
    found: dict[tuple[str, str], Code] = {}
    for valueset in all_value_sets().values():
        if resource_type in valueset.searched_in:
            for key, code in valueset.codes.items():
                if _names_a_test(code):
                    found.setdefault(key, code)
    return list(found.values())


_TEST_SYSTEMS = ("http://loinc.org", "http://snomed.info/sct")


def _names_a_test(code: Code) -> bool:
    """A code an Observation.code can hold: LOINC or SNOMED, and no LOINC answer code
    (LA...: a value, e.g. "Pregnant", never the test) or diagnosis code (ICD-10)."""
    return code.system in _TEST_SYSTEMS and not (
        code.system == "http://loinc.org" and code.code.startswith("LA")
    )
