"""Prefetch resolution: what the client sent, what is missing, and fetching the rest
from its FHIR server (templates, a pooled and bounded client, a host guard)."""

from cds_service.fetch.client import Fetched, FetchLimits, FhirServer, fetch_all, new_client
from cds_service.fetch.guard import (
    GuardedBackend,
    Origin,
    Resolver,
    ServerPolicy,
    ServerRefused,
    ServerUnreachable,
    address_refusal,
    check_server,
    resolve_host,
)
from cds_service.fetch.prefetch import (
    is_outcome_stand_in,
    missing_keys,
    require_prefetch,
    resolve_prefetch,
)
from cds_service.fetch.templates import UnresolvedToken, render

__all__ = [
    "FetchLimits",
    "Fetched",
    "FhirServer",
    "GuardedBackend",
    "Origin",
    "Resolver",
    "ServerPolicy",
    "ServerRefused",
    "ServerUnreachable",
    "UnresolvedToken",
    "address_refusal",
    "check_server",
    "fetch_all",
    "is_outcome_stand_in",
    "missing_keys",
    "new_client",
    "render",
    "require_prefetch",
    "resolve_host",
    "resolve_prefetch",
]
