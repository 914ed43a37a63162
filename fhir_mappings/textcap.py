"""How much of one free text the value sets match: its first `limit` characters.

Matching costs time in proportion to the text (a 4.5 MB Condition text once held the
event loop for seconds), and a value-set phrase sits in a text's opening words, so each
text is matched up to a documented length: `MATCHED_TEXT_CHARS` unless the edge sets
`CDS_MAX_MATCHED_TEXT_CHARS` for the request (`matched_text_limit`). The limit lives in
a context variable: per request (it follows the request into worker threads that copy
the context, as `cds_service.offload` does), never process-wide.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["MATCHED_TEXT_CHARS", "matched_part", "matched_text_limit"]

MATCHED_TEXT_CHARS = 2048

_LIMIT: ContextVar[int] = ContextVar("matched_text_chars", default=MATCHED_TEXT_CHARS)


def matched_part(text: str) -> str:
    """The part of `text` value sets match: its first characters, up to the limit."""
    limit = _LIMIT.get()
    return text if len(text) <= limit else text[:limit]


@contextmanager
def matched_text_limit(chars: int) -> Iterator[None]:
    """Within this block (one request), texts are matched up to `chars` characters."""
    token = _LIMIT.set(chars)
    try:
        yield
    finally:
        _LIMIT.reset(token)
