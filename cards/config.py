"""Rule thresholds and switches. The HTTP edge fills this from settings; tests build it directly.

Defaults follow the project's brief (ECTRIMS/EBMT criteria as stated there); the
2025 consensus (Muraro 2025) uses EDSS < 6.0, the documented alternative.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["KNOWLEDGE_VERSION", "RuleConfig", "RuleThresholds"]

# Bump when card wording, value sets or rule logic change: the card ledger records it.
KNOWLEDGE_VERSION = "2026.11.1"


class RuleThresholds(BaseModel):
    """The rule thresholds, declared once: RuleConfig carries them to the rules, and the
    service's Settings inherit them (as CDS_<NAME> environment variables)."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    activity_window_months: int = Field(12, ge=1)
    """Disease activity (relapse, MRI activity) counts within this many months."""
    activity_min_gd_lesions: int = Field(1, ge=1)
    """Disease activity: at least this many Gd-enhancing lesions on one MRI."""
    activity_min_new_t2_lesions: int = Field(1, ge=1)
    """Disease activity: at least this many new/enlarging T2 lesions on one MRI."""
    he_failure_min_months: int = Field(6, ge=0)
    """High-efficacy DMT failure: activity at least this many months after its start
    (the onset of effect of every DMT: no label gives one)."""
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


class RuleConfig(RuleThresholds):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    knowledge_version: str = KNOWLEDGE_VERSION
