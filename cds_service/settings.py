"""Settings from CDS_-prefixed environment variables (or an env file), injected with Depends."""

from __future__ import annotations

from typing import Literal

from fastapi import Request
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from cards.config import RuleConfig
from fhir_mappings.config import MappingConfig
from fhir_mappings.facts import EfficacyClass

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
    activity_window_months: int = Field(12, ge=1)
    """Disease activity (relapse, MRI activity) counts within this many months."""
    activity_min_gd_lesions: int = Field(1, ge=1)
    """Disease activity: at least this many Gd-enhancing lesions on one MRI."""
    activity_min_new_t2_lesions: int = Field(1, ge=1)
    """Disease activity: at least this many new/enlarging T2 lesions on one MRI."""
    he_failure_min_months: int = Field(6, ge=0)
    """High-efficacy DMT failure: activity at least this many months after its start."""
    ahsct_max_age: int = Field(45, ge=1)
    """AHSCT criterion: age below this many years."""
    ahsct_max_disease_years: int = Field(10, ge=1)
    """AHSCT criterion: disease duration below this many years."""
    ahsct_max_edss: float = Field(4.0, ge=0, le=10)
    """AHSCT criterion: EDSS below this (brief 4.0; ECTRIMS/EBMT 2025 uses 6.0)."""
    edss_window_months: int = Field(12, ge=1)
    """AHSCT criterion: EDSS measured within this many months."""
    ahsct_min_gd_lesions: int = Field(1, ge=1)
    """AHSCT high focal MRI activity: at least this many Gd-enhancing lesions."""
    ahsct_min_new_t2_lesions: int = Field(2, ge=1)
    """AHSCT high focal MRI activity: or at least this many new/enlarging T2 lesions."""
    s1p_efficacy_class: Literal["platform", "high-efficacy"] = "platform"
    """Efficacy class of S1P modulators (fingolimod, siponimod, ozanimod, ponesimod)."""
    mri_gd_codes: list[str] = []
    """Local Observation codes ("system|code") for Gd-enhancing lesion counts (JSON list)."""
    mri_new_t2_codes: list[str] = []
    """Local Observation codes ("system|code") for new/enlarging T2 lesion counts."""

    # --- FHIR fetch and prefetch (issue 4) --------------------------------------

    # --- client authentication, CORS, limits (issue 5) --------------------------

    # --- storage: card ledger, feedback, analytics (issue 6) --------------------

    # --- operations: metrics, workers, readiness (issue 7) ----------------------

    # --- performance: caches (issue 8) ------------------------------------------

    def rule_config(self) -> RuleConfig:
        return RuleConfig(**{name: getattr(self, name) for name in _RULE_FIELDS})

    def mapping_config(self) -> MappingConfig:
        return MappingConfig(
            s1p_class=EfficacyClass(self.s1p_efficacy_class),
            mri_gd_codes=frozenset(self.mri_gd_codes),
            mri_new_t2_codes=frozenset(self.mri_new_t2_codes),
        )

    @property
    def effective_log_format(self) -> str:
        return self.log_format or ("console" if self.dev else "json")


# Every RuleConfig threshold has a setting of the same name (tests check it).
_RULE_FIELDS = tuple(name for name in RuleConfig.model_fields if name != "knowledge_version")


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings
