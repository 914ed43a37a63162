"""Prefetch resolution: what the client sent, what is missing, what to do about it.

For each key a service declares: present -> used; null -> "no data", not
fetched; absent, or an OperationOutcome standing in for data -> missing.
Missing required data with no fhirServer to fetch from -> 412.
"""

from __future__ import annotations

from typing import Any

from cds_service.errors import PrefetchUnavailable
from cds_service.protocol import HookRequest
from cds_service.services import REQUIRED_PREFETCH, ServiceDefinition
from fhir_mappings.build import PatientRecord

__all__ = ["is_outcome_stand_in", "missing_keys", "resolve_prefetch"]


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
    return [
        key for key in service.prefetch if key not in prefetch or is_outcome_stand_in(prefetch[key])
    ]


async def resolve_prefetch(
    request: HookRequest, service: ServiceDefinition, patient_id: str, draft_orders: Any
) -> PatientRecord:
    prefetch = dict(request.prefetch or {})
    missing = missing_keys(request, service)
    required = [k for k in missing if k in REQUIRED_PREFETCH]
    if required:
        why = (
            "no fhirServer was given to fetch it from"
            if not request.fhirServer
            else "fetching from fhirServer is not available"
        )
        raise PrefetchUnavailable(
            *(f"required prefetch '{k}' is missing and {why}" for k in required),
            expressions=[f"prefetch.{k}" for k in required],
        )
    for key in missing:
        prefetch.pop(key, None)
    return PatientRecord(
        patient_id=patient_id,
        prefetch=prefetch,
        draft_orders=draft_orders,
        missing={k: "not in prefetch" for k in missing},
    )
