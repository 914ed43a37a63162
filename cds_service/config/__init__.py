"""Configuration: pydantic-settings from CDS_ variables, loaded readably or refused."""

from cds_service.config.documented import (
    MASK,
    TABLE_BEGIN,
    TABLE_END,
    as_env_lines,
    effective,
    markdown_table,
    mask_value,
    update_table,
)
from cds_service.config.loading import (
    ConfigurationError,
    InvalidSettings,
    env_name,
    load_settings,
)
from cds_service.config.settings import (
    ASYMMETRIC_ALGORITHMS,
    DEV_PATIENT_HASH_KEY,
    Settings,
    TrustedIssuer,
)

__all__ = [
    "ASYMMETRIC_ALGORITHMS",
    "DEV_PATIENT_HASH_KEY",
    "MASK",
    "TABLE_BEGIN",
    "TABLE_END",
    "ConfigurationError",
    "InvalidSettings",
    "Settings",
    "TrustedIssuer",
    "as_env_lines",
    "effective",
    "env_name",
    "load_settings",
    "markdown_table",
    "mask_value",
    "update_table",
]
