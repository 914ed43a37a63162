"""Rule thresholds and switches. The HTTP edge fills this from settings; tests build it directly.

Defaults follow the project's brief (ECTRIMS/EBMT criteria as stated there); the
2025 consensus (Muraro 2025) uses EDSS < 6.0, the documented alternative.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["KNOWLEDGE_VERSION", "RuleConfig"]

# Bump when card wording, value sets or rule logic change: the card ledger records it.
KNOWLEDGE_VERSION = "2026.11.1"


class RuleConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    knowledge_version: str = KNOWLEDGE_VERSION
    activity_window_months: int = Field(12, ge=1)
    """Disease activity counts when dated within this many months before today."""
    activity_min_gd_lesions: int = Field(1, ge=1)
    activity_min_new_t2_lesions: int = Field(1, ge=1)
    he_failure_min_months: int = Field(6, ge=0)
    """Activity counts as high-efficacy DMT failure this many months after its start."""
    ahsct_max_age: int = Field(45, ge=1)
    """AHSCT: age < this many years."""
    ahsct_max_disease_years: int = Field(10, ge=1)
    """AHSCT: disease duration < this many years."""
    ahsct_max_edss: float = Field(4.0, ge=0, le=10)
    """AHSCT: EDSS < this (brief: 4.0; ECTRIMS/EBMT 2025: 6.0)."""
    edss_window_months: int = Field(12, ge=1)
    """AHSCT: the EDSS must be measured within this many months."""
    ahsct_min_gd_lesions: int = Field(1, ge=1)
    """AHSCT high focal MRI activity: >= this many Gd-enhancing lesions, or ..."""
    ahsct_min_new_t2_lesions: int = Field(2, ge=1)
    """... >= this many new/enlarging T2 lesions (in the activity window)."""
