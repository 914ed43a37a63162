"""POST /cds-services/{id}: one hook call."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from cds_service.errors import NotFound, UnsupportedMediaType
from cds_service.jsonbody import decode_json
from cds_service.logs import request_log
from cds_service.pipeline import run_service
from cds_service.protocol import HookRequest, HookResponse, parse_request
from cds_service.services import SERVICES
from cds_service.settings import Settings, get_settings

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
    return decode_json(await request.body())


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
    hook_request: HookRequest = parse_request(await read_json(request))
    body, result = await run_service(service, hook_request, settings, today)
    request_log(
        service=service.id,
        hook_instance=hook_request.hookInstance,
        status=200,
        started=started,
        cards=[c.topic for c in result.cards],
        skipped=len(result.facts.parse_notes),
    )
    return JSONResponse(body)
