"""Prefetch resolution: what the client sent, what is missing, and fetching the rest.

For each key a service declares: present -> used; null -> "no data", not
fetched; absent, or an OperationOutcome standing in for data -> fetched from
fhirServer (all at once, within the request's deadline). A key whose template
cannot be rendered is not fetched. A required key (REQUIRED_PREFETCH) that
cannot be had -> 412 saying which and why; an optional one -> answered anyway,
with `PatientRecord.missing` saying what is missing and why (PHI-free reasons).
A fhirServer the host rules refuse -> 412, and no connection is made.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from cds_hooks import HookRequest, ServiceDefinition
from cds_service.catalogue import REQUIRED_PREFETCH
from cds_service.config.settings import Settings
from cds_service.errors import PrefetchUnavailable
from cds_service.fetch.client import FetchLimits, FhirServer, fetch_all, new_client
from cds_service.fetch.guard import Resolver, ServerPolicy, ServerUnreachable, check_server
from cds_service.fetch.templates import UnresolvedToken, render
from cds_service.ops.metrics import count_fetch
from fhir_mappings.build import PatientRecord

__all__ = ["is_outcome_stand_in", "missing_keys", "resolve_prefetch"]

NO_SERVER = "not in prefetch and no fhirServer was given to fetch it from"
STAND_IN_NO_SERVER = "prefetch held an OperationOutcome and no fhirServer was given"


def is_outcome_stand_in(value: Any) -> bool:
    """An OperationOutcome, or a Bundle of only OperationOutcomes, in place of data."""
    if not isinstance(value, dict):
        return False
    if value.get("resourceType") == "OperationOutcome":
        return True
    if value.get("resourceType") == "Bundle":
        entries = value.get("entry")
        if isinstance(entries, list) and entries:
            return all(
                isinstance(e, dict)
                and isinstance(e.get("resource"), dict)
                and e["resource"].get("resourceType") == "OperationOutcome"
                for e in entries
            )
    return False


def missing_keys(request: HookRequest, service: ServiceDefinition) -> list[str]:
    prefetch = request.prefetch or {}
    templates = service.prefetch or {}
    return [key for key in templates if key not in prefetch or is_outcome_stand_in(prefetch[key])]


async def resolve_prefetch(
    request: HookRequest,
    service: ServiceDefinition,
    patient_id: str,
    draft_orders: Any,
    settings: Settings | None = None,
    client: httpx.AsyncClient | None = None,
    resolver: Resolver | None = None,
) -> PatientRecord:
    """The request's data: prefetch as sent, plus what was fetched; 412 when required
    data cannot be had. `client` is the shared pool (a short-lived one if None)."""
    settings = settings or Settings()
    deadline = asyncio.get_running_loop().time() + settings.fhir_deadline
    prefetch = dict(request.prefetch or {})
    missing = missing_keys(request, service)
    for key in missing:
        prefetch.pop(key, None)
    gaps: dict[str, str] = {}
    if missing:
        fetched, gaps = await _fetch(
            request, service, missing, settings, deadline, client, resolver
        )
        prefetch.update(fetched)
    required = [k for k in REQUIRED_PREFETCH if k in gaps and k not in prefetch]
    if required:
        raise PrefetchUnavailable(
            *(f"required prefetch '{k}' could not be had: {gaps[k]}" for k in sorted(required)),
            expressions=[f"prefetch.{k}" for k in sorted(required)],
        )
    return PatientRecord(
        patient_id=patient_id,
        prefetch=prefetch,
        draft_orders=draft_orders,
        missing={k: gaps[k] for k in service.prefetch or {} if k in gaps},
    )


async def _fetch(
    request: HookRequest,
    service: ServiceDefinition,
    keys: list[str],
    settings: Settings,
    deadline: float,
    client: httpx.AsyncClient | None,
    resolver: Resolver | None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """(values fetched, gaps by key) for the missing keys."""
    if not request.fhirServer:
        sent = request.prefetch or {}
        return {}, {k: STAND_IN_NO_SERVER if k in sent else NO_SERVER for k in keys}
    gaps: dict[str, str] = {}
    paths: dict[str, str] = {}
    for key in keys:
        try:
            paths[key] = render((service.prefetch or {})[key], request.context)
        except UnresolvedToken as exc:
            gaps[key] = f"prefetch template token '{exc.token}' could not be resolved"
    if not paths:
        return {}, gaps
    try:
        async with asyncio.timeout_at(deadline):
            origin = await check_server(
                request.fhirServer, ServerPolicy.from_settings(settings), resolver
            )
    except TimeoutError:
        count_fetch("timeout", len(paths))
        return {}, gaps | dict.fromkeys(paths, "deadline exceeded")
    except ServerUnreachable:
        count_fetch("unresolved", len(paths))
        return {}, gaps | dict.fromkeys(paths, "fhirServer host name not resolved")
    auth = request.fhirAuthorization
    token = auth.access_token.get_secret_value() if auth is not None else None
    limits = FetchLimits.from_settings(settings)
    if client is None:
        async with new_client(settings) as own:
            results = await fetch_all(
                FhirServer(own, request.fhirServer, origin, token, limits), paths, deadline
            )
    else:
        results = await fetch_all(
            FhirServer(client, request.fhirServer, origin, token, limits), paths, deadline
        )
    values: dict[str, Any] = {}
    for key, result in results.items():
        if result.value is not None:
            values[key] = result.value
        if result.gap is not None:
            gaps[key] = result.gap
    return values, gaps
