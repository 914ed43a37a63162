"""What PostgreSQL cannot store in text: the NUL character (U+0000).

PostgreSQL `text` (and JSON read as JSONB) refuses it, whatever the driver does; SQLite
keeps it. So a value bound for the database that holds one is refused at the edge,
the same on both, naming where it was (never the value).
"""

from __future__ import annotations

from typing import Any

__all__ = ["nul_path"]

NUL = "\x00"


def nul_path(value: Any, path: str = "") -> str | None:
    """The JSON path of the first string (or object key) in `value` holding a NUL, e.g.
    'feedback[0].overrideReason.userComment'; None when there is none."""
    if isinstance(value, str):
        return (path or "$")[:200] if NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and NUL in key:
                return (path or "$")[:200] + " (a member name)"
            name = f"{path}.{key}" if path else str(key)
            found = nul_path(item, name)
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = nul_path(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None
