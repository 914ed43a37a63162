"""Make decoded JSON safe to carry through the service and back out.

`prune_deep` drops containers nested past a depth: FHIR data never nests that
deep, and one junk extension must not cost a clinician the card the rest of the
request deserves (a body too deep even to decode safely is refused earlier).

`json.loads` turns a `"\\ud800"` escape into a lone UTF-16 surrogate: valid JSON
text, but not encodable as UTF-8, so an id carrying one made the response
(`MedicationRequest/<id>` in a card) fail to encode: a 500. `clean_json`
replaces every lone surrogate by U+FFFD, in keys and values, in place and
without recursion; the replacement is the same everywhere, so ids and
selections still match. Used for request bodies and fetched FHIR data alike.
"""

from __future__ import annotations

from typing import Any

__all__ = ["clean_json", "prune_deep"]

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


def prune_deep(value: Any, limit: int) -> int:
    """Drop, in place, every container nested deeper than `limit` (the root is depth 1).

    Depth counts containers as `jsontext.json_depth` does. Returns how many were dropped.
    """
    dropped = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            keys = [k for k, item in node.items() if isinstance(item, dict | list)]
            if depth >= limit:
                for key in keys:
                    del node[key]
                dropped += len(keys)
            else:
                stack.extend((node[k], depth + 1) for k in keys)
        elif isinstance(node, list):
            if depth >= limit:
                kept = [item for item in node if not isinstance(item, dict | list)]
                dropped += len(node) - len(kept)
                node[:] = kept
            else:
                stack.extend((item, depth + 1) for item in node if isinstance(item, dict | list))
    return dropped
