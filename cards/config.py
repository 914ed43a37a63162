"""Rule thresholds and switches. The HTTP edge fills this from settings; tests build it directly."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["KNOWLEDGE_VERSION", "RuleConfig"]

# Bump when card wording, value sets or rule logic change: the card ledger records it.
KNOWLEDGE_VERSION = "2026.11.0"


class RuleConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    knowledge_version: str = KNOWLEDGE_VERSION
