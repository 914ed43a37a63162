"""Settings from CDS_-prefixed environment variables (or an env file), injected with Depends."""

from __future__ import annotations

from typing import Literal

from fastapi import Request
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from cards.config import RuleConfig

__all__ = ["Settings", "get_settings"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CDS_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        # Each field's docstring is its description: `ms-cds config --markdown` builds
        # the README settings table from them.
        use_attribute_docstrings=True,
    )

    dev: bool = False
    """Development mode: readable logs, http and loopback FHIR servers allowed, no JWT check."""
    public_base_url: str | None = None
    """The service's public base URL behind a proxy (JWT `aud`, links)."""
    log_format: Literal["json", "console"] | None = None
    """Log format; default console in development, json otherwise."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    """Log level (case-insensitive)."""

    # --- rules and mappings (thresholds; issue 3) -------------------------------

    # --- FHIR fetch and prefetch (issue 4) --------------------------------------

    # --- client authentication, CORS, limits (issue 5) --------------------------

    # --- storage: card ledger, feedback, analytics (issue 6) --------------------

    # --- operations: metrics, workers, readiness (issue 7) ----------------------
    host: str = "127.0.0.1"
    """Interface `ms-cds serve` binds (0.0.0.0 in a container)."""
    port: int = Field(default=8000, ge=1, le=65535)
    """Port `ms-cds serve` binds."""
    workers: int = Field(default=1, ge=1, le=64)
    """uvicorn worker processes; more than 1 puts metrics in multiprocess mode."""
    graceful_shutdown_seconds: int = Field(default=20, ge=0, le=600)
    """On SIGTERM, how long in-flight requests may take before the workers stop."""
    metrics_enabled: bool = True
    """Serve Prometheus metrics at GET /metrics."""
    readiness_timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    """Time limit for each readiness check of GET /readyz (e.g. the database)."""

    # --- performance: caches (issue 8) ------------------------------------------

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    def rule_config(self) -> RuleConfig:
        return RuleConfig()

    @property
    def effective_log_format(self) -> str:
        return self.log_format or ("console" if self.dev else "json")


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings
