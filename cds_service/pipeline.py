"""One service call, from a parsed envelope to the response body. Shared by HTTP and CLI."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx

from cards.engine import Evaluation, evaluate
from cards.model import dump
from cds_service.errors import BadRequest
from cds_service.prefetch import resolve_prefetch
from cds_service.protocol import HookRequest, parse_context
from cds_service.services import ServiceDefinition
from cds_service.settings import Settings

__all__ = ["run_service"]


async def run_service(
    service: ServiceDefinition,
    request: HookRequest,
    settings: Settings,
    today: date,
    fhir_client: httpx.AsyncClient | None = None,
) -> tuple[dict[str, Any], Evaluation]:
    """The response body and evaluation. `fhir_client`: the shared pool for fetching
    missing prefetch (the app's, from its lifespan); None makes a short-lived one."""
    if request.hook != service.hook:
        raise BadRequest(
            f"hook '{request.hook[:64]}' does not match service '{service.id}', "
            f"which serves '{service.hook}'",
            expressions=["hook"],
        )
    context = parse_context(service.hook, request.context)
    draft_orders = getattr(context, "draftOrders", None)
    record = await resolve_prefetch(
        request,
        service,
        context.patientId,
        draft_orders.model_dump() if draft_orders is not None else None,
        settings,
        fhir_client,
    )
    result = evaluate(
        service.hook,
        record,
        settings.rule_config(),
        today,
        selections=getattr(context, "selections", None),
        mapping=settings.mapping_config(),
    )
    return {"cards": [dump(card) for card in result.cards]}, result
