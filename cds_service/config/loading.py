"""Settings from the environment, or a readable refusal to start.

    ConfigurationError        the service must not serve with this configuration
     └── InvalidSettings      a setting does not validate (type, range, JSON)

`load_settings()` turns a pydantic ValidationError into one readable line per bad
setting, naming the variable and the reason, never the value (it may be a secret).
`create_app` raises ConfigurationError for a configuration production mode refuses
(`Settings.production_problems`). Neither is an HTTP answer: the entry points print
the lines and exit with code 2.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError
from pydantic_settings import SettingsError

from cds_service.config.settings import Settings

__all__ = ["ConfigurationError", "InvalidSettings", "env_name", "load_settings"]


class ConfigurationError(Exception):
    """The configuration is unsafe or incomplete: the service refuses to start.
    `lines` has one readable line per problem."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


class InvalidSettings(ConfigurationError):
    """Settings that do not validate; `lines` has one readable line per bad setting."""


def env_name(field: str) -> str:
    prefix = str(Settings.model_config.get("env_prefix", ""))
    return f"{prefix}{field}".upper()


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment (and .env), or InvalidSettings naming each bad one."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise InvalidSettings(_describe(exc)) from None
    except SettingsError as exc:  # a structured value that is not JSON
        found = re.search(r'field "(\w+)"', str(exc))
        name = env_name(found.group(1)) if found else "settings"
        raise InvalidSettings([f"invalid setting {name}: not valid JSON"]) from None


def _describe(exc: ValidationError) -> list[str]:
    lines = []
    for error in exc.errors():
        loc = error.get("loc", ())
        name = env_name(str(loc[0])) if loc else "settings"
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc[1:])
        lines.append(f"invalid setting {name}{where}: {error.get('msg', 'invalid')}")
    return lines
