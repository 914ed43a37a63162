"""One service call, from a parsed envelope to the response body. Shared by HTTP and CLI."""

from __future__ import annotations

from datetime import date
from typing import Any

from cards.engine import Evaluation, evaluate
from cards.model import dump
from cds_service.errors import BadRequest
from cds_service.facts_cache import FactsCache
from cds_service.prefetch import resolve_prefetch
from cds_service.protocol import HookRequest, parse_context
from cds_service.services import ServiceDefinition
from cds_service.settings import Settings
from fhir_mappings.fingerprint import record_key

__all__ = ["run_service"]


async def run_service(
    service: ServiceDefinition,
    request: HookRequest,
    settings: Settings,
    today: date,
    cache: FactsCache | None = None,
) -> tuple[dict[str, Any], Evaluation]:
    """Evaluate one call. With a `cache`, the patient facts of an identical record are reused."""
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
    )
    config = settings.rule_config()
    key = known = None
    if cache is not None:
        key = record_key(record, f"{today.isoformat()}|{config.model_dump_json()}")
        known = await cache.get(key)
    result = evaluate(
        service.hook,
        record,
        config,
        today,
        selections=getattr(context, "selections", None),
        known_facts=known,
    )
    if key is not None and known is None and result.patient_facts is not None:
        await cache.put(key, result.patient_facts)  # type: ignore[union-attr]
    return {"cards": [dump(card) for card in result.cards]}, result
