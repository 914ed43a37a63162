"""Settings from CDS_-prefixed environment variables (or an env file), injected with Depends."""

from __future__ import annotations

from typing import Literal

from fastapi import Request
from pydantic import Field, SecretStr
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
    database_url: str = "sqlite:///ms-cds.sqlite3"
    """SQLAlchemy URL of the card ledger and feedback store; PostgreSQL: postgresql://..."""
    database_migrate_on_startup: bool | None = None
    """Apply database migrations at start-up; default yes in development, no otherwise."""
    database_connect_timeout: float = Field(default=3.0, gt=0)
    """Seconds to wait for a database connection before answering 503."""
    ledger_buffer_size: int = Field(default=100_000, ge=1)
    """Card ledger entries held in memory while the database is unreachable."""
    ledger_batch_size: int = Field(default=500, ge=1)
    """Card ledger entries written per database transaction."""
    ledger_shutdown_timeout: float = Field(default=10.0, ge=0)
    """Seconds allowed at shutdown to write the card ledger entries still in memory."""
    feedback_max_items: int = Field(default=1000, ge=1)
    """Most feedback items accepted in one feedback request (more: 413)."""
    patient_hash_key: SecretStr | None = None
    """Key of the HMAC-SHA256 patient hash in the ledger; unset: a random key per process."""
    admin_token: SecretStr | None = None
    """Bearer token for GET /analytics/cards; unset: the analytics endpoint is off (404)."""

    # --- operations: metrics, workers, readiness (issue 7) ----------------------

    # --- performance: caches (issue 8) ------------------------------------------

    def rule_config(self) -> RuleConfig:
        return RuleConfig()

    @property
    def migrate_on_startup(self) -> bool:
        if self.database_migrate_on_startup is None:
            return self.dev
        return self.database_migrate_on_startup

    @property
    def effective_log_format(self) -> str:
        return self.log_format or ("console" if self.dev else "json")


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings
