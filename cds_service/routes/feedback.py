"""POST /cds-services/{id}/feedback: card outcomes, answered 200 only once committed."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.exc import SQLAlchemyError

from cds_hooks import parse_feedback
from cds_service.body import read_json
from cds_service.catalogue import SERVICES
from cds_service.errors import NotFound, ServiceUnavailable
from cds_service.runtime import Runtime, get_runtime, require_client
from cds_service.storage.feedback_store import save_feedback

log = logging.getLogger("ms_cds.feedback")

# Client authentication: the same client JWT check as the service route (bare 401).
_LEDGER_FLUSH_SECONDS = 1.0

router = APIRouter(dependencies=[Depends(require_client)])

_BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "example": {
                    "feedback": [
                        {
                            "card": "9368d37b-283f-44a0-93ea-547cebab93ed",
                            "outcome": "overridden",
                            "overrideReason": {
                                "reason": {"code": "d7ecf885", "system": "https://example.com"},
                                "userComment": "A comment entered by the clinician.",
                            },
                            "outcomeTimestamp": "2020-12-11T00:00:00Z",
                        }
                    ]
                }
            }
        },
    }
}


@router.post(
    "/cds-services/{service_id}/feedback",
    openapi_extra=_BODY_DOC,
    summary="Feedback on returned cards (CDS Hooks 2.0)",
)
async def post_feedback(
    service_id: str,
    request: Request,
    runtime: Annotated[Runtime, Depends(get_runtime)],
) -> dict[str, int]:
    settings = runtime.settings
    service = SERVICES.get(service_id)
    if service is None:
        raise NotFound(f"no CDS service '{service_id[:64]}'")
    items = parse_feedback(
        await read_json(request, settings.max_json_depth, settings.max_element_depth),
        settings.feedback_max_items,
    )
    storage = runtime.storage
    if storage.ledger.pending:
        # Cards just returned may still wait in the ledger's buffer: write them first, so
        # feedback on them is not flagged as about an unknown card.
        await asyncio.to_thread(storage.ledger.flush, _LEDGER_FLUSH_SECONDS)
    try:
        result = await asyncio.to_thread(
            save_feedback, storage.engine, service.id, items, datetime.now(UTC)
        )
    except SQLAlchemyError as exc:
        log.error(
            "feedback not stored: database unavailable",
            extra={"service": service.id, "error_type": type(exc).__name__, "items": len(items)},
        )
        raise ServiceUnavailable("feedback could not be stored now; retry later") from None
    log.info(
        "feedback stored",
        extra={
            "service": service.id,
            "received": result.received,
            "stored": result.stored,
            "duplicates": result.duplicates,
            "unknown_cards": result.unknown_cards,
        },
    )
    return {
        "received": result.received,
        "stored": result.stored,
        "duplicates": result.duplicates,
        "unknownCards": result.unknown_cards,
    }
