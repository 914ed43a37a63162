"""Rule thresholds and switches. The HTTP edge fills this from settings; tests build it directly.

Defaults follow the project's brief. Its EDSS < 4.0 for AHSCT is a site setting: no
published source uses it (docs/research/advice.md 8.7); the 2025 ECTRIMS/EBMT consensus
(Muraro 2025) uses EDSS < 6.0, and the AHSCT card names which one is in force.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from cards.orderables import SiteCode

__all__ = ["DEFAULT_EXTENSION_DOMAIN", "KNOWLEDGE_VERSION", "RuleConfig", "RuleThresholds"]

# RFC 2606 reserves example.org: a placeholder no one owns; sites set their own domain.
DEFAULT_EXTENSION_DOMAIN = "org.example.ms-cds"

# Bump when card wording, value sets or rule logic change: the card ledger records it.
KNOWLEDGE_VERSION = "2026.12.1"


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
    """AHSCT criterion: EDSS below this (4.0: a site setting no source uses; ECTRIMS/EBMT
    2025 uses 6.0)."""
    edss_window_months: int = Field(12, ge=1)
    """AHSCT criterion: EDSS measured within this many months."""
    ahsct_min_gd_lesions: int = Field(1, ge=1)
    """AHSCT high focal MRI activity: at least this many Gd-enhancing lesions."""
    ahsct_min_new_t2_lesions: int = Field(2, ge=1)
    """AHSCT high focal MRI activity: or at least this many new/enlarging T2 lesions."""
    natalizumab_jcv_max_index: float = Field(1.5, ge=0)
    """Natalizumab is not proposed above this anti-JCV antibody index (the US label sets no
    cut-off; 1.5: PRAC 'high index', Plavina 2014 risk strata; AAN 2018 summary uses 0.9)."""
    natalizumab_jcv_index_source: str = "PRAC (EMA) high-index advice; Plavina 2014 risk strata"
    """The source the JCV index setting follows, named on the card."""
    jcv_result_max_months: int = Field(6, ge=1)
    """A negative or low-index anti-JCV result older than this: 're-test' (EU SmPC: every
    6 months)."""
    ppms_outside_trial_population: bool = False
    """Show the PPMS ocrelizumab card outside ORATORIO's population (age 18-55, EDSS
    3.0-6.5)."""
    label_region: Literal["us", "eu"] = "us"
    """Whose drug labels the cards quote: 'eu' adds the EU SmPC's limits (PPMS: early
    disease with imaging features of inflammatory activity)."""
    extension_domain: str = Field(
        DEFAULT_EXTENSION_DOMAIN, pattern=r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9-]+)+$"
    )
    """Reverse-domain prefix of the card extension keys (`<domain>.explanation`); set your
    organisation's, e.g. org.example-hospital.ms-cds."""


class RuleConfig(RuleThresholds):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    knowledge_version: str = KNOWLEDGE_VERSION
    orderables: dict[str, SiteCode] = {}
    """The site's orderable code per proposal (from CDS_ORDER_CODES_FILE; cards.orderables)."""

    @property
    def explanation_key(self) -> str:
        return f"{self.extension_domain}.explanation"
