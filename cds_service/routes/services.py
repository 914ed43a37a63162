"""POST /cds-services/{id}: one hook call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from cds_service.auth import ClientIdentity, require_client
from cds_service.errors import CDSError, NotFound
from cds_service.jsonio import encode_json
from cds_service.limits import read_hook_json
from cds_service.logs import note_hook_call
from cds_service.metrics import StageTimer, count_cards, count_skipped
from cds_service.pipeline import run_service
from cds_service.privacy import patient_hash
from cds_service.protocol import HookRequest, HookResponse, parse_request
from cds_service.services import SERVICES
from cds_service.settings import Settings
from cds_service.storage import Storage

router = APIRouter()


@dataclass(frozen=True)
class HookCall:
    """What one hook call runs with: the app's settings, today's date (the app's clock,
    frozen in tests) and the verified client (None in development)."""

    settings: Settings
    today: date
    client: ClientIdentity | None


async def hook_call(request: Request) -> HookCall:
    """The route's one dependency (FastAPI spends ~7 us resolving each, so one, not three).
    `async def`: FastAPI runs a plain `def` dependency in its thread pool (~100+ us).
    Authentication first: an unverified client learns nothing else."""
    client = await require_client(request)
    clock: Callable[[], date] = request.app.state.clock
    return HookCall(request.app.state.settings, clock(), client)


_BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HookRequest"}}},
    }
}


@router.post(
    "/cds-services/{service_id}",
    response_model=HookResponse,
    response_model_exclude_none=True,
    openapi_extra=_BODY_DOC,
    summary="Call a CDS service",
)
async def call_service(
    service_id: str,
    request: Request,
    call: Annotated[HookCall, Depends(hook_call)],
) -> Response:
    settings = call.settings
    service = SERVICES.get(service_id)
    if service is None:
        raise NotFound(f"no CDS service '{service_id[:64]}'")
    hook_request: HookRequest | None = None
    fhir_client = getattr(request.app.state, "fhir_client", None)
    timer = StageTimer()
    try:
        with timer.stage("parse"):
            hook_request = parse_request(
                await read_hook_json(request, settings.max_json_depth, settings.max_element_depth)
            )
        body, result = await run_service(
            service,
            hook_request,
            settings,
            call.today,
            fhir_client,
            stage=timer.stage,
        )
    except CDSError:
        _note_call(request, service.id, hook_request, settings)
        raise
    finally:
        timer.observe()
    storage: Storage = request.app.state.storage
    storage.record_cards(
        service.id, hook_request.hookInstance, hook_request.context.get("patientId"), result.cards
    )
    count_cards(service.id, [(c.topic, c.indicator) for c in result.cards])
    count_skipped(result.facts.parse_notes)
    _note_call(
        request,
        service.id,
        hook_request,
        settings,
        cards=[c.topic for c in result.cards],
        skipped=len(result.facts.parse_notes),
    )
    return Response(encode_json(body), media_type="application/json")


def _note_call(
    request: Request,
    service: str,
    hook_request: HookRequest | None,
    settings: Settings,
    **fields: Any,
) -> None:
    """The hook call's fields for its request's log line (written by the access log)."""
    patient_id = hook_request.context.get("patientId") if hook_request is not None else None
    note_hook_call(
        request.scope.setdefault("state", {}),
        service=service,
        hook_instance=hook_request.hookInstance if hook_request is not None else None,
        patient=(
            patient_hash(patient_id, settings.patient_hash_secret())
            if isinstance(patient_id, str) and patient_id
            else None
        ),
        **fields,
    )
