"""Report text masked before spaCy sees it: every token no rule can read becomes a fixed
placeholder, so the process-wide spaCy vocabulary (StringStore and lexemes, which spaCy
3.7 never frees) stays bounded and never holds a patient's name, MRN or date.

The words kept are those the pipeline's rules name (our target, modifier and section
rules and count words in valuesets/mri_terms.json, medspaCy's default ConText rules that
the pipeline loads, spaCy's English number words), small numbers (a lesion count or a
size: up to three digits, or a decimal like 3.5), single punctuation marks and short
whitespace. Anything else is one placeholder token: `ALPHA_MASK` for an alphabetic token
(a rule's IS_ALPHA wildcard still matches it), `PUNCT_MASK` for a longer run of
punctuation, `OTHER_MASK` for any other (a long digit string, a date, an identifier: not
a number, so never a count).

The text is cut into tokens exactly as spaCy's tokenizer cuts it (spaCy's own
`Tokenizer.explain` algorithm, run on the pipeline's rules without touching its
vocabulary), so a masked text has the same tokens, one for one, with placeholders in
place of the unread ones: a whitespace-separated chunk with nothing masked is passed on
as written; in one with a placeholder the tokens are separated by spaces. Character
offsets therefore move; `mri_text` uses none (it reads tokens, sentences and sections).
The masker holds rules only, never text.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["ALPHA_MASK", "OTHER_MASK", "PUNCT_MASK", "Masker", "build_masker", "rule_strings"]

ALPHA_MASK = "xxxx"
"""Stands for an alphabetic token no rule reads."""
OTHER_MASK = "x0x0"
"""Stands for any other token no rule reads (not alphabetic, not a number)."""
PUNCT_MASK = "---"
"""Stands for a longer run of punctuation ("-----"): still punctuation, which the
sentencizer reads (punctuation after a full stop stays in its sentence)."""

_PIECES = re.compile(r"\s+|\S+")  # \s is str.isspace, the tokenizer's own split
_SMALL_NUMBER = re.compile(r"\d{1,3}|\d{1,2}\.\d")
_WHITESPACE = frozenset(" \t\n\r")
_SPACE_MASK = "    "  # one whitespace token that is no line break (never ends a sentence)

_Search = Callable[[str], Any]


def _never(_: str) -> None:
    return None


@dataclass(frozen=True)
class Masker:
    """The pipeline tokenizer's rules and the words the pipeline's rules read."""

    words: frozenset[str]
    specials: dict[str, tuple[str, ...]]
    prefix_search: _Search
    suffix_search: _Search
    infix_finditer: Callable[[str], Iterable[Any]]
    token_match: _Search
    url_match: _Search
    joined: dict[tuple[str, ...], tuple[str, ...]]  # special cases the affix rules cut up
    longest_joined: int = 0  # tokens in the longest of them
    joined_starts: frozenset[str] = frozenset()  # the tokens they start with

    def mask(self, text: str) -> str:
        """`text` with every token no rule reads replaced by a placeholder."""
        done: dict[str, str] = {}  # this text's chunks (reports repeat words); dropped on return
        out: list[str] = []
        for piece in _PIECES.findall(text):
            masked = done.get(piece)
            if masked is None:
                masked = done[piece] = self._chunk(piece)
            out.append(masked)
        return "".join(out)

    def _chunk(self, piece: str) -> str:
        if piece.isspace():
            short = len(piece) <= 4 and _WHITESPACE.issuperset(piece)
            return piece if short else _SPACE_MASK
        tokens = self.tokens(piece)
        kept = [self._keep(token) for token in tokens]
        same = all(k is t for k, t in zip(kept, tokens, strict=True))
        return piece if same else " ".join(kept)

    def _keep(self, token: str) -> str:
        lower = token.lower()
        if lower in self.words:
            # the case a reader writes (new, New, NEW) as written; any other mix lower-cased
            # (rules read LOWER; the punctuation they read by TEXT has no case)
            return token if token in (lower, lower.upper(), lower.capitalize()) else lower
        if token.isascii() and _SMALL_NUMBER.fullmatch(token):
            return token
        if len(token) == 1 and not token.isalnum():
            return token
        if len(token) <= 3 and token.isascii() and not any(c.isalnum() for c in token):
            return token  # "...", "--", "):"
        if all(unicodedata.category(c).startswith("P") for c in token):
            return PUNCT_MASK  # spaCy's IS_PUNCT
        return ALPHA_MASK if token.isalpha() else OTHER_MASK

    def tokens(self, chunk: str) -> list[str]:
        """The tokens spaCy's tokenizer cuts a whitespace-free chunk into (the algorithm of
        spaCy 3.7's `Tokenizer.explain`, with the special cases read once)."""
        if chunk.isalpha() and chunk not in self.specials:
            return [chunk]  # no affix or infix rule splits letters alone
        return self._rejoined(self._affixed(chunk, self.specials))

    def _rejoined(self, tokens: list[str]) -> list[str]:
        """Special cases the affix rules cut up put back together (":*" in "record:**"),
        longest first, as spaCy's special-case matcher does."""
        if len(tokens) < 2:
            return tokens
        longest = self.longest_joined
        out: list[str] = []
        i = 0
        while i < len(tokens):
            if tokens[i] not in self.joined_starts:
                out.append(tokens[i])
                i += 1
                continue
            for n in range(min(longest, len(tokens) - i), 1, -1):
                special = self.joined.get(tuple(tokens[i : i + n]))
                if special is not None:
                    out.extend(special)
                    i += n
                    break
            else:
                out.append(tokens[i])
                i += 1
        return out

    def _affixed(self, chunk: str, specials: dict[str, tuple[str, ...]]) -> list[str]:
        prefix_search, suffix_search = self.prefix_search, self.suffix_search
        tokens: list[str] = []
        suffixes: list[str] = []
        substring = chunk
        while substring:
            if substring in specials:
                tokens.extend(specials[substring])
                break
            while prefix_search(substring) or suffix_search(substring):
                if self.token_match(substring):
                    tokens.append(substring)
                    substring = ""
                    break
                if substring in specials:
                    tokens.extend(specials[substring])
                    substring = ""
                    break
                prefix = prefix_search(substring)
                if prefix:
                    split = prefix.end()
                    if split == 0:
                        break
                    tokens.append(substring[:split])
                    substring = substring[split:]
                    if substring in specials:
                        continue
                suffix = suffix_search(substring)
                if suffix:
                    split = suffix.start()
                    if split == len(substring):
                        break
                    suffixes.append(substring[split:])
                    substring = substring[:split]
            if not substring:
                continue
            if self.token_match(substring) or self.url_match(substring):
                tokens.append(substring)
            elif substring in specials:
                tokens.extend(specials[substring])
            else:
                tokens.extend(self._infixed(substring))
            substring = ""
        tokens.extend(reversed(suffixes))
        return tokens

    def _infixed(self, substring: str) -> list[str]:
        out: list[str] = []
        offset = 0
        for match in self.infix_finditer(substring):
            if offset == 0 and match.start() == 0:
                continue
            if substring[offset : match.start()]:
                out.append(substring[offset : match.start()])
            if substring[match.start() : match.end()]:
                out.append(substring[match.start() : match.end()])
            offset = match.end()
        if substring[offset:]:
            out.append(substring[offset:])
        return out


def rule_strings(value: Any) -> Iterable[str]:
    """Every string in a rule structure (a literal, a token pattern, nested IN lists)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from rule_strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from rule_strings(item)


def build_masker(tokenizer: Any, strings: Iterable[str]) -> Masker:
    """A masker for a spaCy tokenizer that keeps every token of `strings` (the rules')."""
    from spacy.attrs import ORTH  # type: ignore[import-not-found]  # (Cython, no stub)
    from spacy.lang.en.lex_attrs import _num_words, _ordinal_words

    specials: dict[str, tuple[str, ...]] = {}
    for orth, pieces in tokenizer.rules.items():
        specials[orth] = tuple(str(p.get(ORTH, p.get("ORTH", ""))) for p in pieces)
    masker = Masker(
        frozenset(),
        specials,
        tokenizer.prefix_search or _never,
        tokenizer.suffix_search or _never,
        tokenizer.infix_finditer or (lambda _: ()),
        tokenizer.token_match or _never,
        tokenizer.url_match or _never,
        {},
    )
    # as spaCy's tokenizer: a special case that the affix rules would cut is matched on
    # the pieces they cut it into
    joined: dict[tuple[str, ...], tuple[str, ...]] = {}
    for orth, pieces in specials.items():
        cut = tuple(masker._affixed(orth, {}))
        if len(cut) > 1:
            joined.setdefault(cut, pieces)
    longest = max((len(cut) for cut in joined), default=0)
    starts = frozenset(cut[0] for cut in joined)
    masker = dataclasses.replace(
        masker, joined=joined, longest_joined=longest, joined_starts=starts
    )
    words = {w.lower() for w in (*_num_words, *_ordinal_words)}
    for string in strings:
        if not string.strip():
            continue
        if not any(c.isspace() for c in string):
            words.add(string.lower())
        for chunk in string.split():
            words.update(token.lower() for token in masker.tokens(chunk))
    words -= {ALPHA_MASK, OTHER_MASK, PUNCT_MASK}
    return dataclasses.replace(masker, words=frozenset(words))
