"""The keyword prefilter of value-set text matching never changes a match result."""

from __future__ import annotations

import re
import string
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fhir_mappings import conditions, observations, orders
from fhir_mappings.reader import Concept, Resources
from fhir_mappings.textcap import MATCHED_TEXT_CHARS, matched_text_limit
from fhir_mappings.valuesets import TextPattern, ValueSet, all_value_sets, none_can_match
from fhir_mappings.valuesets.keywords import fold_case, required_keywords

TEXT_SETS = {name: vs for name, vs in all_value_sets().items() if vs.patterns}
# What re.IGNORECASE equates with ASCII letters, plus case and whitespace variety.
LOOKALIKES = {"i": ["I", "\u0130", "\u0131"], "s": ["S", "\u017f"], "k": ["K", "\u212a"]}
NOISE = ["", " ", "  ", "\t", "\n", "\u00a0", "-", "/", ".", "?", "é", "\u0301", "ms ", "MS", "x"]


def reference_matches(valueset: ValueSet, text: str) -> list[TextPattern]:
    """Every pattern run on the text as the value set prepares it: no prefilter at all."""
    prepared = " ".join(text[:MATCHED_TEXT_CHARS].split())
    if valueset.fold_accents:
        decomposed = unicodedata.normalize("NFKD", prepared)
        prepared = "".join(c for c in decomposed if not unicodedata.combining(c))
    return [p for p in valueset.patterns if p.regex.search(prepared)]


@st.composite
def disguised(draw: st.DrawFn, text: str) -> str:
    """`text` with some letters in upper case or as the look-alikes re.IGNORECASE accepts."""
    out = []
    for char in text:
        choice = draw(st.integers(0, 7))
        if choice == 0:
            char = char.upper()
        elif choice == 1 and char.lower() in LOOKALIKES:
            char = draw(st.sampled_from(LOOKALIKES[char.lower()]))
        out.append(char)
    return "".join(out)


@st.composite
def texts_from_fragments(draw: st.DrawFn, valueset: ValueSet) -> str:
    """A text built from the set's own patterns: strings they match, their keywords (whole
    or cut), and noise between them."""
    keywords = sorted({w for words in valueset.keywords for w in words or ()})
    fragment = st.one_of(
        st.sampled_from(valueset.patterns).flatmap(lambda p: st.from_regex(p.regex)),
        st.sampled_from(keywords).flatmap(
            lambda w: st.integers(0, len(w)).map(lambda cut: w[:cut] or w)
        ),
        st.sampled_from(NOISE),
    )
    parts = draw(st.lists(fragment, min_size=1, max_size=6))
    return draw(disguised(draw(st.sampled_from(["", " "])).join(parts)))


@pytest.mark.parametrize("name", sorted(TEXT_SETS))
@given(data=st.data())
def test_matches_are_those_of_every_pattern_run(name: str, data: st.DataObject) -> None:
    """For texts made of a set's own pattern fragments, `matches` and `match_text` give
    exactly what running every pattern gives, in and outside a request's memo."""
    valueset = TEXT_SETS[name]
    text = data.draw(texts_from_fragments(valueset))
    expected = reference_matches(valueset, text)
    assert valueset.matches(text) == expected
    assert valueset.match_text(text) == (expected[0] if expected else None)
    with matched_text_limit(MATCHED_TEXT_CHARS):
        assert valueset.matches(text) == expected
        assert valueset.matches(text) == expected  # the second time from the memo


@pytest.mark.parametrize("name", sorted(TEXT_SETS))
@given(data=st.data())
def test_every_match_of_a_pattern_holds_one_of_its_keywords(name: str, data: st.DataObject) -> None:
    """Any string a shipped pattern matches (case and look-alikes varied) holds one of
    the keywords derived from it, once case-folded."""
    pattern = data.draw(st.sampled_from(TEXT_SETS[name].patterns))
    keywords = required_keywords(pattern.regex)
    text = data.draw(st.from_regex(pattern.regex).flatmap(disguised))
    if keywords is not None and pattern.regex.search(text):
        assert any(word in fold_case(text) for word in keywords), (text, keywords)


def test_every_shipped_pattern_has_keywords() -> None:
    """No shipped pattern is left to run on every text (each yields literal keywords)."""
    for valueset in TEXT_SETS.values():
        assert len(valueset.keywords) == len(valueset.patterns)
        assert all(words for words in valueset.keywords), valueset.name


def test_fold_case_maps_everything_ignorecase_equates_with_ascii() -> None:
    """Every code point re.IGNORECASE matches to a printable ASCII character folds to
    that character's lower case (so a keyword is found whatever the text's case)."""
    ascii_chars = string.ascii_letters + string.digits + string.punctuation + " "
    every = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000)
    one_of = re.compile("[" + re.escape(ascii_chars) + "]", re.IGNORECASE)
    for found in {m.group() for m in one_of.finditer(every)}:
        for char in ascii_chars:
            if re.fullmatch(re.escape(char), found, re.IGNORECASE):
                assert fold_case(found) == char.lower(), (hex(ord(found)), char)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (r"\bocrevus[ -]?zunovo\b", ("ocrevus",)),
        (r"\bgd[ -]?(enh|pos)", ("gd enh", "gd pos", "gd-enh", "gd-pos", "gdenh", "gdpos")),
        (r"\bMRI?\b", ("mr",)),
        (r"(?<!chronic )gvhd(?![a-z])", ("gvhd",)),
        (r"(?-i:(?<![A-Za-z0-9])SVF(?![A-Za-z0-9]))", ("svf",)),
        (r"\bnever (been )?(started|given)\b", ("never ",)),
        (r"crohn.*fistul|fistul.*crohn", ("fistul",)),
        (r"(a)b?\1", ("a",)),
        (r"cellules? souches?", ("cellule",)),
    ],
)
def test_keywords_derived_from_a_pattern(pattern: str, expected: tuple[str, ...]) -> None:
    """Keywords come from the pattern's literal text; lookarounds and anchors add none."""
    assert required_keywords(re.compile(pattern, re.IGNORECASE)) == expected


@pytest.mark.parametrize("pattern", [r".{3,}", r"\w+\d", r"[a-z]+", r"x?|y", r"(?:ab)*", "[^a]"])
def test_a_pattern_guaranteeing_no_literal_has_no_keywords(pattern: str) -> None:
    """A pattern that can match without any fixed text always runs."""
    assert required_keywords(re.compile(pattern, re.IGNORECASE)) is None


def test_a_value_set_without_keywords_runs_every_pattern() -> None:
    """A ValueSet built without keywords (the field's default) matches as before."""
    patterns = (TextPattern(re.compile(r"\bfoo\b", re.IGNORECASE), "test"),)
    bare = ValueSet("bare", {}, patterns, {})
    assert bare.matches("a FOO b") == list(patterns) and bare.match_text("food") is None


# The groups the readers ask at once, and one of every shipped set.
GROUPS = {
    "conditions": conditions._CONDITION_SETS,
    "observations": observations._OBSERVATION_SETS,
    "cell products": orders._CELL_SETS,
    "every set": tuple(sorted(all_value_sets())),
}


@pytest.mark.parametrize("group", sorted(GROUPS))
@given(data=st.data())
def test_none_can_match_only_when_no_set_of_the_group_matches(
    group: str, data: st.DataObject
) -> None:
    """none_can_match is true only when no set of the group matches the text or code."""
    names = GROUPS[group]
    member = all_value_sets()[data.draw(st.sampled_from(names))]
    texts = data.draw(st.lists(texts_from_fragments(member), max_size=2)) if member.patterns else []
    codings = []
    if member.codes and data.draw(st.booleans()):
        system, code = data.draw(st.sampled_from(sorted(member.codes)))
        aliases = [a for a, to in member.system_aliases.items() if to == system]
        system = data.draw(st.sampled_from([system, *aliases]))
        codings.append((system, data.draw(st.sampled_from([code, f" {code} "]))))
    concept = Concept(tuple(codings), tuple(texts))
    with matched_text_limit(MATCHED_TEXT_CHARS):
        if none_can_match(names, concept):
            for name in names:
                valueset = all_value_sets()[name]
                assert valueset.match_concept(concept) is None
                assert all(valueset.matches(text) == [] for text in texts)
                assert all(reference_matches(valueset, text) == [] for text in texts)


def test_none_can_match_sees_a_code_an_alias_and_a_keyword() -> None:
    """A member's code, its system under an alias, or a keyword in a text is a maybe."""
    names = ("hsct", "msc_orders")
    system, code = sorted(all_value_sets()["hsct"].codes)[0]
    with matched_text_limit(MATCHED_TEXT_CHARS):
        assert not none_can_match(names, Concept(((system, code),), ()))
        assert not none_can_match(names, Concept((), ("Mesenchymal stromal cells",)))
        assert none_can_match(names, Concept((("http://loinc.org", "2093-3"),), ("Cholesterol",)))
        assert none_can_match(names, Concept((), ()))


@pytest.mark.parametrize("name", sorted(all_value_sets()))
@given(data=st.data())
def test_a_read_concept_matches_as_its_texts_do(name: str, data: st.DataObject) -> None:
    """A concept read from a resource (its texts folded once, ready to match) gets the same
    answer from every set and group as a concept holding the same codes and texts to
    prepare."""
    member = all_value_sets()[name]
    texts = st.one_of(texts_from_fragments(member), st.sampled_from(NOISE))
    coding: dict[str, str] = {"display": data.draw(texts) if member.patterns else "x"}
    if member.codes and data.draw(st.booleans()):
        system, code = data.draw(st.sampled_from(sorted(member.codes)))
        aliases = [a for a, to in member.system_aliases.items() if to == system]
        coding |= {"system": data.draw(st.sampled_from([system, *aliases])), "code": code}
    raw = {"text": data.draw(texts) if member.patterns else "y", "coding": [coding]}
    with matched_text_limit(MATCHED_TEXT_CHARS):
        read = Resources([{"resourceType": "Condition", "code": raw}]).all[0].concept("code")
        plain = Concept(read.codings, read.texts)
        for valueset in all_value_sets().values():
            assert valueset.match_concept(read) == valueset.match_concept(plain)
            assert valueset.match_concept(read, use_text=False) == valueset.match_concept(
                plain, use_text=False
            )
        for names in GROUPS.values():
            assert none_can_match(names, read) == none_can_match(names, plain)
