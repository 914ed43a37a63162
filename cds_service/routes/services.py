"""POST /cds-services/{id}: one hook call."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from cds_service.errors import BadRequest, NotFound, UnsupportedMediaType
from cds_service.logs import request_log
from cds_service.metrics import StageTimer, count_cards, count_skipped
from cds_service.pipeline import run_service
from cds_service.protocol import HookRequest, HookResponse, parse_request
from cds_service.services import SERVICES
from cds_service.settings import Settings, get_settings
from cds_service.storage import Storage

router = APIRouter()


def get_today(request: Request) -> date:
    clock: Callable[[], date] = request.app.state.clock
    return clock()


async def read_json(request: Request) -> Any:
    content_type = request.headers.get("content-type", "")
    media = content_type.split(";")[0].strip().lower()
    if (
        media
        and media not in ("application/json", "application/fhir+json")
        and not media.endswith("+json")
    ):
        raise UnsupportedMediaType(f"content type '{media[:64]}' is not JSON")
    body = await request.body()
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise BadRequest("the request body is not valid JSON") from None


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
    settings: Annotated[Settings, Depends(get_settings)],
    today: Annotated[date, Depends(get_today)],
) -> JSONResponse:
    started = time.perf_counter()
    service = SERVICES.get(service_id)
    if service is None:
        raise NotFound(f"no CDS service '{service_id[:64]}'")
    fhir_client = getattr(request.app.state, "fhir_client", None)
    timer = StageTimer()
    try:
        with timer.stage("parse"):
            hook_request: HookRequest = parse_request(await read_json(request))
        body, result = await run_service(
            service, hook_request, settings, today, fhir_client, stage=timer.stage
        )
    finally:
        timer.observe()
    storage: Storage = request.app.state.storage
    storage.record_cards(
        service.id, hook_request.hookInstance, hook_request.context.get("patientId"), result.cards
    )
    count_cards(service.id, [(c.topic, c.indicator) for c in result.cards])
    count_skipped(result.facts.parse_notes)
    request_log(
        service=service.id,
        hook_instance=hook_request.hookInstance,
        status=200,
        started=started,
        cards=[c.topic for c in result.cards],
        skipped=len(result.facts.parse_notes),
    )
    return JSONResponse(body)
