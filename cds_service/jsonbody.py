"""Make decoded JSON safe to carry through the service and back out.

`json.loads` turns a `"\\ud800"` escape into a lone UTF-16 surrogate: valid JSON
text, but not encodable as UTF-8, so an id carrying one made the response
(`MedicationRequest/<id>` in a card) fail to encode: a 500. `clean_json`
replaces every lone surrogate by U+FFFD, in keys and values, in place and
without recursion; the replacement is the same everywhere, so ids and
selections still match. Used for request bodies and fetched FHIR data alike.
"""

from __future__ import annotations

from typing import Any

__all__ = ["clean_json"]

_SURROGATES = {code: "\ufffd" for code in range(0xD800, 0xE000)}


def _clean(text: str) -> str:
    """`text` with any lone surrogate replaced by U+FFFD."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.translate(_SURROGATES)
    return text


def clean_json(value: Any) -> Any:
    """`value` (decoded JSON) with lone surrogates replaced; containers are cleaned in place."""
    if isinstance(value, str):
        return _clean(value)
    stack: list[Any] = [value]
    while stack:
        node = stack.pop()
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
                stack.append(item)
            elif isinstance(item, str) and not item.isascii():
                node[key] = _clean(item)
    return value
