"""One service call, from a parsed envelope to the response body. Shared by HTTP and CLI.

`stage` times the stages (parse, prefetch; mapping, rules and render inside
`evaluate`): the HTTP route passes its metrics StageTimer, the CLI nothing.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from datetime import date
from typing import Any

import httpx
import orjson
from pydantic import BaseModel

from cards.engine import Evaluation, StageClock, evaluate
from cards.model import dump
from cds_service.errors import BadRequest
from cds_service.facts_cache import FactsCache
from cds_service.offload import off_loop
from cds_service.prefetch import resolve_prefetch
from cds_service.protocol import HookRequest, parse_context
from cds_service.services import ServiceDefinition
from cds_service.settings import Settings
from fhir_mappings.fingerprint import record_key

__all__ = ["run_service"]


def _salt(today: date, *configs: BaseModel) -> str:
    """What patient facts depend on besides the record: the date and the settings.
    Sets are sorted: the key must be the same in every worker process."""
    parts: list[Any] = [today.isoformat()]
    for model in configs:
        data = model.model_dump(mode="json")
        parts.append({k: sorted(v) if isinstance(v, list) else v for k, v in data.items()})
    return orjson.dumps(parts, option=orjson.OPT_SORT_KEYS).decode()


def _untimed(stage: str) -> AbstractContextManager[object]:
    return nullcontext()


async def run_service(
    service: ServiceDefinition,
    request: HookRequest,
    settings: Settings,
    today: date,
    fhir_client: httpx.AsyncClient | None = None,
    stage: StageClock | None = None,
    cache: FactsCache | None = None,
) -> tuple[dict[str, Any], Evaluation]:
    """The response body and evaluation. `fhir_client`: the shared pool for fetching
    missing prefetch (the app's, from its lifespan); None makes a short-lived one.
    `stage`: the stage clock (the HTTP route's metrics timer); None times nothing.
    `cache`: patient facts of an identical record (same content, date, settings) reused."""
    stage = stage or _untimed
    if request.hook != service.hook:
        raise BadRequest(
            f"hook '{request.hook[:64]}' does not match service '{service.id}', "
            f"which serves '{service.hook}'",
            expressions=["hook"],
        )
    with stage("parse"):
        context = parse_context(service.hook, request.context)
        draft_orders = getattr(context, "draftOrders", None)
        drafts = draft_orders.model_dump() if draft_orders is not None else None
    with stage("prefetch"):
        record = await resolve_prefetch(
            request, service, context.patientId, drafts, settings, fhir_client
        )
    config, mapping = settings.rule_config(), settings.mapping_config()
    key = known = None
    if cache is not None:
        with stage("mapping"):  # the facts cache is part of mapping
            key = record_key(record, _salt(today, config, mapping))
            known = await cache.get(key)
    result = await off_loop(  # mapping and rules are CPU work: never on the event loop
        evaluate,
        service.hook,
        record,
        config,
        today,
        selections=getattr(context, "selections", None),
        mapping=mapping,
        stage=stage,
        known_facts=known,
    )
    if cache is not None and key is not None and known is None and result.patient_facts:
        await cache.put(key, result.patient_facts)  # never the facts of an unread record
    with stage("render"):
        body = {"cards": [dump(card) for card in result.cards]}
    return body, result
