"""GET /cds-services (discovery) and POST /cds-services/{id} (one hook call).

A hook call writes its own log line (`ops.logs.log_hook_call`: service, hookInstance,
patient hash, card topics, status, duration), whatever it answers: it is the one
place that knows all of them. Its errors are answered through `errors.error_response`,
the same conversion the app's exception handlers use.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute

from cds_hooks import HookResponse, WireError, parse_request
from cds_service.auth import authenticate
from cds_service.body import encode_json, read_json
from cds_service.catalogue import SERVICES, discovery_document
from cds_service.errors import CDSError, NotFound, Unauthorized, error_response
from cds_service.ops import HOOK_ROUTE, StageTimer, count_cards, count_skipped, log_hook_call
from cds_service.pipeline import run_service
from cds_service.runtime import Runtime, get_runtime, runtime_of

__all__ = ["add_routes"]

_BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HookRequest"}}},
    }
}


async def discovery(runtime: Annotated[Runtime, Depends(get_runtime)]) -> dict[str, Any]:
    return discovery_document(runtime.services())


@dataclass
class _CallLine:
    """What the call's log line says, filled in as the call goes."""

    service: str
    hook_instance: object = None
    patient: str | None = None
    cards: list[str | None] | None = None
    skipped: int | None = None
    auth_rejection: str | None = None


async def call_service(service_id: str, request: Request) -> Response:
    runtime = runtime_of(request.app)
    started = time.perf_counter()
    # A catalogue id or "unknown": the path is the caller's and never logged as sent.
    line = _CallLine(service_id if service_id in SERVICES else "unknown")
    timer = StageTimer()
    status = 500  # unless an answer is made: anything unexpected goes on to the 500 handler
    try:
        try:
            response = await _answer(service_id, request, runtime, line, timer)
        except (CDSError, WireError) as exc:
            if isinstance(exc, Unauthorized):
                line.auth_rejection = exc.reason
            response = error_response(exc)
        status = response.status_code
        return response
    finally:
        timer.observe()
        log_hook_call(
            service=line.service,
            hook_instance=line.hook_instance,
            status=status,
            started=started,
            patient=line.patient,
            cards=line.cards,
            skipped=line.skipped,
            auth_rejection=line.auth_rejection,
        )


class _HookRoute(APIRoute):
    """The hook call's route: documented from `call_service`'s signature as any route, but
    called without FastAPI's per-request solving of parameters and dependencies (a
    response, query, header and cookie pass on every call). Its parameters need none:
    the path's service id (any string; an unknown one is a 404 of its own) and the
    request; the Runtime comes from the app (`runtime_of`)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        async def handle(request: Request) -> Response:
            return await call_service(request.path_params["service_id"], request)

        return handle


def add_routes(router: APIRouter) -> None:
    """Discovery and the hook call, on the app's own router (`create_app`): an included
    router is one more dispatch every request goes through, and these routes take
    nearly every request."""
    router.add_api_route("/cds-services", discovery, methods=["GET"], summary="CDS Hooks discovery")
    router.add_api_route(
        HOOK_ROUTE,  # the access log leaves this route's requests to the route's own line
        call_service,
        methods=["POST"],
        route_class_override=_HookRoute,
        openapi_extra=_BODY_DOC,
        responses={200: {"model": HookResponse, "description": "The cards"}},
        summary="Call a CDS service",
    )


async def _answer(
    service_id: str, request: Request, runtime: Runtime, line: _CallLine, timer: StageTimer
) -> Response:
    settings = runtime.settings
    # Authentication first: an unverified client learns nothing else.
    client = await authenticate(request, settings, runtime.verifier)
    service = runtime.services().get(service_id)
    if service is None:
        raise NotFound(f"no CDS service '{service_id[:64]}'")
    with timer.stage("parse"):
        hook_request = parse_request(
            await read_json(request, settings.max_json_depth, settings.max_element_depth)
        )
    body_bytes = len(await request.body())  # read once already: Starlette keeps it
    line.hook_instance = hook_request.hookInstance
    line.patient = runtime.patient_hash(hook_request.context.get("patientId"))
    body, result = await run_service(
        service,
        hook_request,
        settings,
        runtime.today(),
        runtime.fhir_client,
        timer.stage,
        body_bytes,
        (runtime.rule_config(), runtime.mapping_config()),
    )
    runtime.storage.record_cards(
        service.id,
        hook_request.hookInstance,
        line.patient,
        result.cards,
        client.owner if client is not None else "",
    )
    count_cards(service.id, [(c.topic, c.indicator) for c in result.cards])
    count_skipped(result.facts.parse_notes)
    line.cards = [c.topic for c in result.cards]
    line.skipped = len(result.facts.parse_notes)
    return Response(encode_json(body), media_type="application/json")
