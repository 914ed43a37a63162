"""Decode a request body into JSON the rest of the service can always handle.

`json.loads` alone accepts inputs that later break the service: nesting deep
enough to exhaust Python's recursion limit in the mappings, integers beyond
Python's digit limit (a ValueError, not a JSONDecodeError), and lone UTF-16
surrogates (`"\\ud800"`) that cannot be encoded back into a UTF-8 response.
`decode_json` rejects over-long integers with BadRequest, replaces whatever is
nested deeper than MAX_DEPTH by null (so the shallow envelope and every real
resource are still read: a deep junk extension never hides an MSC order), and
replaces lone surrogates by U+FFFD, consistently, so ids and selections match.

Duplicate keys keep the last value (as JSON.parse, Jackson and most parsers do).
"""

from __future__ import annotations

import json
from typing import Any

from cds_service.errors import BadRequest

__all__ = ["MAX_DEPTH", "decode_json"]

# Deep enough for any real FHIR resource (100-level nesting included), shallow
# enough that recursive code (deepcopy, validation) stays far from the limit.
MAX_DEPTH = 256

_SURROGATES = {code: "\ufffd" for code in range(0xD800, 0xE000)}


def _clean(text: str) -> str:
    """`text` with any lone surrogate replaced by U+FFFD."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.translate(_SURROGATES)
    return text


def _check(value: Any) -> None:
    """Prune what is nested too deeply and clean strings, in place, without recursion."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            if not all(key.isascii() for key in node):
                cleaned = {_clean(key): item for key, item in node.items()}
                node.clear()
                node.update(cleaned)
            items: Any = node.items()
        elif isinstance(node, list):
            items = enumerate(node)
        else:
            continue
        for key, item in items:
            if isinstance(item, dict | list):
                if depth < MAX_DEPTH:
                    stack.append((item, depth + 1))
                else:
                    node[key] = None  # too deep to be real FHIR: dropped like a null
            elif isinstance(item, str) and not item.isascii():
                node[key] = _clean(item)


def decode_json(body: bytes) -> Any:
    """The decoded body, or BadRequest (never another exception) when it is unusable."""
    try:
        value = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        # ValueError covers JSONDecodeError and integers over Python's digit limit.
        raise BadRequest("the request body is not valid JSON") from None
    if isinstance(value, str):
        value = _clean(value)
    _check(value)
    return value
