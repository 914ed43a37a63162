"""How much of one free text the value sets match: its first `limit` characters.

Matching costs time in proportion to the text (a 4.5 MB Condition text once held the
event loop for seconds), and a value-set phrase sits in a text's opening words, so each
text is matched up to a documented length: `MATCHED_TEXT_CHARS` unless the edge sets
`CDS_MAX_MATCHED_TEXT_CHARS` for the request (`matched_text_limit`). The limit lives in
a context variable: per request (it follows the request into worker threads that copy
the context, as `cds_service.offload` does), never process-wide.

`matched_text_limit` also opens the request's text memo (`request_memo`): each text is
prepared for matching (cut, whitespace folded, accents and case folded) once per
request, not once per value set. The memo is a plain dict that lives as long as the
block: it holds the request's own texts and is gone when the request ends (nothing
kept across requests, nothing to poison: each entry is a pure function of its key).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

__all__ = [
    "MATCHED_TEXT_CHARS",
    "folded_part",
    "matched_part",
    "matched_text_limit",
    "request_memo",
]

MATCHED_TEXT_CHARS = 2048

_LIMIT: ContextVar[int] = ContextVar("matched_text_chars", default=MATCHED_TEXT_CHARS)
_MEMO: ContextVar[dict[Any, Any] | None] = ContextVar("matched_text_memo", default=None)


def matched_part(text: str) -> str:
    """The part of `text` value sets match: its first characters, up to the limit."""
    limit = _LIMIT.get()
    return text if len(text) <= limit else text[:limit]


def folded_part(text: str) -> str:
    """`text` with each run of whitespace as one space, up to the limit: exactly the
    whole text folded then cut, without folding more of a long text than the cut needs
    (a folded prefix is a prefix of the folded whole)."""
    limit = _LIMIT.get()
    if len(text) <= limit:
        if text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " ":
            # The only whitespace a printable text can hold is the space: nothing to fold.
            return text
        return " ".join(text.split())
    end = 2 * limit
    while True:
        part = " ".join(text[:end].split())
        if len(part) >= limit or end >= len(text):
            return part[:limit]
        end *= 2


def request_memo() -> dict[Any, Any] | None:
    """This request's memo of prepared texts (None outside `matched_text_limit`: then
    nothing is remembered)."""
    return _MEMO.get()


@contextmanager
def matched_text_limit(chars: int) -> Iterator[None]:
    """Within this block (one request), texts are matched up to `chars` characters, and
    each text is prepared for matching once."""
    token = _LIMIT.set(chars)
    memo = _MEMO.set({})
    try:
        yield
    finally:
        _MEMO.reset(memo)
        _LIMIT.reset(token)
