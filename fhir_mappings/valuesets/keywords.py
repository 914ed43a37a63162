"""The literal words a text pattern cannot match without: a cheap test before the regex.

`required_keywords(regex)` reads a compiled pattern's syntax tree and returns strings of
which every match of the pattern holds at least one (case-folded), or None when it can
prove none (a pattern of `.` and `\\w` only). A text whose `fold_case` form holds none
of a pattern's keywords cannot match it, so the regex need not run: a substring search
costs a small fraction of a regex search with `re.IGNORECASE`, which cannot skip ahead
to a literal prefix.

Sound by construction, never a guess:
- only ASCII pattern characters become keyword characters; any other node (a class, a
  category, `.`, a back-reference, an unknown node of a later Python) proves nothing;
- a lookaround or an anchor consumes nothing: it counts as the empty string (its
  condition ignored: a larger language, so still sound);
- `fold_case` maps each text character to what `re.IGNORECASE` equates it with in
  ASCII: lower case, plus the four non-ASCII letters the `re` module matches to an
  ASCII one (U+0130 and U+0131 to "i", U+017F to "s", U+212A to "k"; a test scans
  every code point to keep this list complete).

The syntax tree comes from `re._parser`, the parser `re.compile` itself uses (private,
so anything unexpected in it yields None: the pattern then always runs).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

__all__ = ["fold_case", "required_keywords"]

# The non-ASCII characters re.IGNORECASE matches to an ASCII character.
_TO_ASCII = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})


def fold_case(text: str) -> str:
    """`text` as keywords are searched in: every character a case-insensitive pattern
    equates with an ASCII character becomes that character in lower case."""
    if text.isascii():
        return text.lower()
    return text.translate(_TO_ASCII).lower()


# At most this many alternative strings per part (a product of alternatives grows fast).
_MAX_STRINGS = 64
# At most this many repeats of an exactly known part are spelled out ("s?", "o{1,2}").
_MAX_REPEAT = 4
# Keywords this long are distinctive enough; beyond it, fewer keywords count for more.
_LONG_ENOUGH = 4
# At most this many characters of a class are spelled out ("[iy]", "[- ]").
_MAX_CLASS = 10


class _Part(NamedTuple):
    """What one node of the tree can match, folded: `exact`, every string it can match
    (None: too many or unknown); `needed`, strings of which each match holds one."""

    exact: frozenset[str] | None
    needed: frozenset[str] | None


_NOTHING = _Part(None, None)
_EMPTY = _Part(frozenset({""}), None)


def required_keywords(regex: re.Pattern[str]) -> tuple[str, ...] | None:
    """Strings (folded, sorted) of which every match of `regex` holds one; None when the
    pattern guarantees no literal text."""
    try:
        from re import _parser  # type: ignore[attr-defined]

        tree = _parser.parse(regex.pattern, regex.flags)
        needed = _sequence(list(tree)).needed
    except Exception:  # any surprise in a private API: prove nothing
        return None
    if not needed or "" in needed:
        return None
    return tuple(sorted(needed))


def _sequence(nodes: Sequence[tuple[Any, Any]]) -> _Part:
    parts = _joined([_node(op, av) for op, av in nodes])
    candidates = [p.needed for p in parts if p.needed]
    # Each run of exactly known neighbours spells strings a match holds ("multiple " +
    # "sclerosis"); every sub-run that spells no empty string is a candidate.
    for start in range(len(parts)):
        spelled: frozenset[str] | None = frozenset({""})
        for part in parts[start:]:
            spelled = _product(spelled, part.exact)
            if spelled is None:
                break
            if "" not in spelled:
                candidates.append(spelled)
    exact: frozenset[str] | None = frozenset({""})
    for part in parts:
        exact = _product(exact, part.exact)
    return _Part(exact, max(candidates, key=_strength, default=None))


def _joined(parts: list[_Part]) -> list[_Part]:
    """Runs of single known characters as one part ("m", "s", "c" -> "msc"): the same
    strings, and a run that starts or ends inside one never spells a stronger
    candidate (each added character lengthens every string, adding none), so only the
    work of the search below shrinks (it is quadratic in the parts)."""
    joined: list[_Part] = []
    for part in parts:
        left, right = (joined[-1].exact if joined else None), part.exact
        if left and right and _one_string(part) and _one_string(joined[-1]):
            both = frozenset({next(iter(left)) + next(iter(right))})
            joined[-1] = _Part(both, both)
        else:
            joined.append(part)
    return joined


def _one_string(part: _Part) -> bool:
    return (
        part.exact is not None
        and len(part.exact) == 1
        and part.needed == part.exact
        and "" not in part.exact
    )


def _strength(strings: frozenset[str]) -> tuple[int, int, int]:
    """Keywords of at least `_LONG_ENOUGH` characters first (a shorter one is common in
    text, so its pattern would run more often), then the fewest of them (each is one
    substring search), then the longest."""
    shortest = min(len(s) for s in strings)
    return min(shortest, _LONG_ENOUGH), -len(strings), shortest


def _product(left: frozenset[str] | None, right: frozenset[str] | None) -> frozenset[str] | None:
    if left is None or right is None or len(left) * len(right) > _MAX_STRINGS:
        return None
    return frozenset(a + b for a, b in itertools.product(left, right))


def _node(op: Any, av: Any) -> _Part:
    name = str(op)
    if name == "LITERAL":
        return _chars([av])
    if name == "IN":
        return _in(av)
    if name in ("AT", "ASSERT", "ASSERT_NOT"):
        return _EMPTY
    if name == "SUBPATTERN":
        return _sequence(list(av[3]))
    if name == "ATOMIC_GROUP":
        return _sequence(list(av))
    if name == "BRANCH":
        return _branch([_sequence(list(b)) for b in av[1]])
    if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
        low, high, sub = av
        return _repeat(low, high, _sequence(list(sub)))
    return _NOTHING  # ANY, CATEGORY, NOT_LITERAL, GROUPREF, GROUPREF_EXISTS, ...


def _chars(codes: Iterable[int]) -> _Part:
    chars = {chr(c) for c in codes}
    if not chars or not all(c.isascii() for c in chars):
        return _NOTHING
    folded = frozenset(fold_case(c) for c in chars)
    return _Part(folded, folded)


def _in(items: Sequence[tuple[Any, Any]]) -> _Part:
    codes: list[int] = []
    for op, av in items:
        name = str(op)
        if name == "LITERAL":
            codes.append(av)
        elif name == "RANGE" and av[1] - av[0] < _MAX_CLASS:
            codes.extend(range(av[0], av[1] + 1))
        else:  # NEGATE, CATEGORY, a wide range
            return _NOTHING
    if len(codes) > _MAX_CLASS:
        return _NOTHING
    return _chars(codes)


def _branch(parts: Sequence[_Part]) -> _Part:
    exact: frozenset[str] | None = frozenset()
    needed: frozenset[str] | None = frozenset()
    for part in parts:
        exact = None if exact is None or part.exact is None else exact | part.exact
        needed = None if needed is None or not part.needed else needed | part.needed
    if exact is not None and len(exact) > _MAX_STRINGS:
        exact = None
    return _Part(exact, needed or None)


def _repeat(low: int, high: int, sub: _Part) -> _Part:
    exact: frozenset[str] | None = None
    if sub.exact is not None and high <= _MAX_REPEAT:
        exact = frozenset()
        for times in range(low, high + 1):
            spelled: frozenset[str] | None = frozenset({""})
            for _ in range(times):
                spelled = _product(spelled, sub.exact)
            if spelled is None:
                exact = None
                break
            exact |= spelled
        if exact is not None and len(exact) > _MAX_STRINGS:
            exact = None
    return _Part(exact, sub.needed if low >= 1 else None)
