"""Settings from CDS_-prefixed environment variables (or an env file), injected with Depends."""

from __future__ import annotations

from typing import Literal

from fastapi import Request
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from cards.config import RuleConfig

__all__ = ["Settings", "get_settings"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CDS_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    dev: bool = False
    """Development mode: readable logs, http and loopback FHIR servers allowed, no JWT check."""
    public_base_url: str | None = None
    """The service's public base URL behind a proxy (JWT `aud`, links)."""
    log_format: Literal["json", "console"] | None = None
    """Log format; default console in development, json otherwise."""
    log_level: str = "INFO"

    # --- rules and mappings (thresholds; issue 3) -------------------------------

    # --- FHIR fetch and prefetch (issue 4) --------------------------------------

    # --- client authentication, CORS, limits (issue 5) --------------------------

    # --- storage: card ledger, feedback, analytics (issue 6) --------------------

    # --- operations: metrics, workers, readiness (issue 7) ----------------------

    # --- performance: caches (issue 8) ------------------------------------------
    facts_cache_size: int = Field(default=2048, ge=0)
    """Patient facts kept in memory (LRU), keyed by a hash of the exact record; 0 turns it off."""
    redis_url: str | None = None
    """Redis URL of a facts cache shared by workers (redis://host:6379/0); unset: memory only."""
    facts_cache_ttl_seconds: int = Field(default=3600, ge=1)
    """How long Redis keeps a patient's facts (they are keyed by content, so never stale)."""
    redis_timeout_seconds: float = Field(default=0.1, gt=0)
    """Redis call timeout; a slow or down Redis counts as a cache miss, never as an error."""

    def rule_config(self) -> RuleConfig:
        return RuleConfig()

    @property
    def effective_log_format(self) -> str:
        return self.log_format or ("console" if self.dev else "json")


async def get_settings(request: Request) -> Settings:
    """A dependency. `async def` on purpose: FastAPI runs a plain `def` dependency in a
    thread pool, which costs ~100-300 us per request (measured with `make bench`)."""
    settings: Settings = request.app.state.settings
    return settings
