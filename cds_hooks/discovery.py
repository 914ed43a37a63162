"""Discovery (GET /cds-services): the services a CDS Service offers, as CDS Hooks 2.0 has it.

A service definition names its hook, a description, an id and, optionally, a title,
prefetch templates and usage requirements. `dump(DiscoveryResponse(...))` is the
document; fields are written in the spec's order and optional ones left out when unset.
"""

from __future__ import annotations

from pydantic import Field

from cds_hooks.base import Hook, WireModel

__all__ = ["DiscoveryResponse", "ServiceDefinition"]


class ServiceDefinition(WireModel):
    hook: Hook
    title: str | None = None
    description: str = Field(min_length=1)
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9._-]+$")
    prefetch: dict[str, str] | None = None
    usageRequirements: str | None = None


class DiscoveryResponse(WireModel):
    services: list[ServiceDefinition]
