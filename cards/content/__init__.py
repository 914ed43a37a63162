"""Card wording and citations as data (one JSON file per topic), loaded and checked once."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["OVERRIDE_SYSTEM", "TOPIC_SYSTEM", "ContentError", "content"]

TOPIC_SYSTEM = "urn:ms-cds:codesystem:card-topic"
OVERRIDE_SYSTEM = "urn:ms-cds:codesystem:override-reason"
_REQUIRED = ("topic", "display", "source_label", "source_url", "summary", "citations")


class ContentError(ValueError):
    """A card content file is incomplete (e.g. a card without a citation)."""


@cache
def content(topic: str) -> dict[str, Any]:
    """The wording of one card topic; every card must cite its evidence."""
    path = resources.files(__name__).joinpath(f"{topic}.json")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    missing = [k for k in _REQUIRED if not data.get(k)]
    if missing:
        raise ContentError(f"card content {topic}: missing {', '.join(missing)}")
    if data["topic"] != topic or not topic.isalnum() or len(topic) > 100:
        raise ContentError(f"card content {topic}: topic code must be alphanumeric, <= 100")
    for key in (k for k in data if k.startswith("summary")):
        if not isinstance(data[key], str) or len(data[key]) >= 140:
            raise ContentError(f"card content {topic}: {key} must be text under 140 characters")
    return data
