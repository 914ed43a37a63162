"""Prefetch resolution: what the client sent, what is missing, and fetching the rest.

For each key a service declares: present -> used; null -> "no data", not
fetched; absent, or an OperationOutcome standing in for data -> fetched from
fhirServer (all at once, within the request's deadline). A key whose template
cannot be rendered is not fetched. A required key (REQUIRED_PREFETCH) that
cannot be had -> 412 saying which and why; an optional one -> answered anyway,
with `PatientRecord.missing` saying what is missing and why (PHI-free reasons).
A fhirServer the host rules refuse -> 412, and no connection is made. A key the
server refuses (HTTP 4xx other than 401/403/429) is searched again in parts when it has
fallback codes (`catalogue.fallback_codes`: the Observation search's codes, with no
system; `cds_service.fetch.split`: quarters, a refused part split again, at most
`split.MAX_CALLS` searches), within the same deadline.

`references` ('Medication/x': what the draft orders name but the request lacks) are
read in the same parallel round as the missing keys, with the same guard, token,
per-call timeout and deadline; each one read is added to the record under its
reference, where the drafts' reference lookup finds it; each one that cannot be had is
named in `PatientRecord.unread` with why (no fhirServer, "HTTP 404", "timeout", ...), so
the order can say it was judged by the reference's display. `required=False` defers the
412 to `require_prefetch`, for a caller that knows only after reading them whether
the record is needed at all.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import httpx

from cds_hooks import HookRequest, ServiceDefinition, bare_patient_id
from cds_service.catalogue import REQUIRED_PREFETCH, code_search, fallback_codes
from cds_service.config.settings import Settings
from cds_service.errors import PrefetchUnavailable
from cds_service.fetch.client import Fetched, FetchLimits, FhirServer, fetch_all, new_client
from cds_service.fetch.guard import Resolver, ServerPolicy, ServerUnreachable, check_server
from cds_service.fetch.split import search_in_parts
from cds_service.fetch.templates import UnresolvedToken, render
from cds_service.ops.metrics import count_fetch
from fhir_mappings.build import PatientRecord

__all__ = ["is_outcome_stand_in", "missing_keys", "require_prefetch", "resolve_prefetch"]

log = logging.getLogger("ms_cds.fhir")
NO_SERVER = "not in prefetch and no fhirServer was given to fetch it from"
NO_SERVER_READ = "not in the request; no fhirServer to read it from"
READ_FAILED = "not in the request; reading it from the fhirServer failed: "
NOT_RETURNED = "not in the request; the fhirServer did not return it"
NOT_READABLE = "not in the request; its id is no FHIR id, so it was not read"
STAND_IN_NO_SERVER = "prefetch held an OperationOutcome and no fhirServer was given"
_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")  # FHIR R4 id


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
    references: Sequence[str] = (),
    required: bool = True,
) -> PatientRecord:
    """The request's data: prefetch as sent, plus what was fetched (missing keys and
    `references`); 412 when required data cannot be had (with `required`).
    `client` is the shared pool (a short-lived one if None)."""
    settings = settings or Settings()
    deadline = asyncio.get_running_loop().time() + settings.fhir_deadline
    prefetch = dict(request.prefetch or {})
    missing = missing_keys(request, service)
    for key in missing:
        prefetch.pop(key, None)
    wanted = [r for r in dict.fromkeys(references) if _readable(r)]
    gaps: dict[str, str] = {}
    if missing or (wanted and request.fhirServer):
        fetched, gaps = await _fetch(
            request, service, missing, wanted, settings, deadline, client, resolver
        )
        prefetch.update(fetched)
    unread = {
        r: _unread(gaps.get(r), r in wanted, bool(request.fhirServer))
        for r in references
        if r not in prefetch
    }
    record = PatientRecord(
        patient_id=patient_id,
        prefetch=prefetch,
        draft_orders=draft_orders,
        missing={k: gaps[k] for k in service.prefetch or {} if k in gaps},
        unread=unread or None,
    )
    if required:
        require_prefetch(record)
    return record


def require_prefetch(record: PatientRecord) -> None:
    """412 naming each required key the record lacks, and why."""
    missing = record.missing or {}
    keys = sorted(k for k in REQUIRED_PREFETCH if k in missing and k not in record.prefetch)
    if keys:
        raise PrefetchUnavailable(
            *(f"required prefetch '{k}' could not be had: {missing[k]}" for k in keys),
            expressions=[f"prefetch.{k}" for k in keys],
        )


def _unread(gap: str | None, readable: bool, server: bool) -> str:
    """Why a reference could not be read, for the order's explanation."""
    if not server:
        return NO_SERVER_READ
    if not readable:
        return NOT_READABLE
    return NOT_RETURNED if gap is None else READ_FAILED + gap


def _readable(reference: str) -> bool:
    """'Medication/id' with a FHIR id: the only references fetched (a read, no search)."""
    kind, _, rid = reference.partition("/")
    return kind == "Medication" and _FHIR_ID.fullmatch(rid) is not None


async def _fetch(
    request: HookRequest,
    service: ServiceDefinition,
    keys: list[str],
    references: list[str],
    settings: Settings,
    deadline: float,
    client: httpx.AsyncClient | None,
    resolver: Resolver | None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """(values fetched, gaps by key) for the missing keys and the references, one round."""
    if not request.fhirServer:
        sent = request.prefetch or {}
        none = {k: STAND_IN_NO_SERVER if k in sent else NO_SERVER for k in keys}
        return {}, none | dict.fromkeys(references, NO_SERVER)
    gaps: dict[str, str] = {}
    paths: dict[str, str] = {}
    # As the context model reads it: "Patient/x" is x (the raw value, checked by the guard).
    context = {**request.context, "patientId": bare_patient_id(request.context.get("patientId"))}
    for key in keys:
        try:
            paths[key] = render((service.prefetch or {})[key], context)
        except UnresolvedToken as exc:
            gaps[key] = f"prefetch template token '{exc.token}' could not be resolved"
    # Labelled by position, not by id, so no id reaches a fetch log line.
    labels = {f"reference {i + 1}": ref for i, ref in enumerate(references)}
    paths.update(labels)
    if not paths:
        return {}, gaps
    named = [labels.get(p, p) for p in paths]  # gaps by key, and by reference
    try:
        async with asyncio.timeout_at(deadline):
            origin = await check_server(
                request.fhirServer, ServerPolicy.from_settings(settings), resolver
            )
    except TimeoutError:
        count_fetch("timeout", len(paths))
        return {}, gaps | dict.fromkeys(named, "deadline exceeded")
    except ServerUnreachable:
        count_fetch("unresolved", len(paths))
        return {}, gaps | dict.fromkeys(named, "fhirServer host name not resolved")
    auth = request.fhirAuthorization
    token = auth.access_token.get_secret_value() if auth is not None else None
    limits = FetchLimits.from_settings(settings)
    async with _pool(settings, client) as pool:
        server = FhirServer(pool, request.fhirServer, origin, token, limits)
        results = await fetch_all(server, paths, deadline)
        await _fall_back(server, service, context, results, deadline)
    values: dict[str, Any] = {}
    for key, result in results.items():
        if key in labels:
            if _is_resource(result.value, labels[key]):
                values[labels[key]] = result.value
            elif result.gap is not None:
                gaps[labels[key]] = result.gap
            continue
        if result.value is not None:
            values[key] = result.value
        if result.gap is not None:
            gaps[key] = result.gap
    return values, gaps


@asynccontextmanager
async def _pool(
    settings: Settings, client: httpx.AsyncClient | None
) -> AsyncIterator[httpx.AsyncClient]:
    """The shared pool, or a short-lived one for this request."""
    if client is not None:
        yield client
        return
    async with new_client(settings) as own:
        yield own


# Answers a different query may get past (not: unauthorised, forbidden, rate-limited).
_REFUSED = re.compile(r"HTTP 4(?!01|03|29)\d\d")


async def _fall_back(
    server: FhirServer,
    service: ServiceDefinition,
    context: dict[str, Any],
    results: dict[str, Fetched],
    deadline: float,
) -> None:
    """Keys the server refused (HTTP 4xx) searched again in parts (their fallback codes,
    cds_service.fetch.split), all keys at once within the same deadline; each key's
    answers merged into one Bundle."""
    templates = service.prefetch or {}
    refused = {
        key: codes
        for key, result in results.items()
        if key in templates
        and result.gap is not None
        and _REFUSED.fullmatch(result.gap)
        and (codes := fallback_codes(key, templates[key]))
    }
    if not refused:
        return

    def path_for(codes: Sequence[str]) -> str:
        return render(code_search(tuple(codes)), context)

    searched = await asyncio.gather(
        *(
            search_in_parts(
                server, key, codes, path_for, _is_refusal, results[key].gap or "", deadline
            )
            for key, codes in refused.items()
        )
    )
    for key, (merged, calls) in zip(refused, searched, strict=True):
        results[key] = merged
        log.warning(
            "fhir fetch fallback",
            extra={"key": key, "outcome": merged.gap or "ok", "searches": calls},
        )


def _is_refusal(gap: str) -> bool:
    return _REFUSED.fullmatch(gap) is not None


def _is_resource(value: Any, reference: str) -> bool:
    """The read answered with the resource referenced (type and id), nothing else."""
    kind, _, rid = reference.partition("/")
    return isinstance(value, dict) and value.get("resourceType") == kind and value.get("id") == rid
