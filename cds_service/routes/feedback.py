"""POST /cds-services/{id}/feedback: card outcomes, answered 200 only once committed."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.exc import SQLAlchemyError

from cds_hooks import FeedbackItem, parse_feedback
from cds_service.auth import ClientIdentity
from cds_service.body import read_json
from cds_service.catalogue import SERVICES
from cds_service.errors import (
    BadRequest,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    TooManyRequests,
)
from cds_service.runtime import Runtime, get_runtime, require_client
from cds_service.storage.feedback_store import ForeignCard, save_feedback
from cds_service.storage.ledger import data_reason
from cds_service.storage.text import nul_path

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
    client: Annotated[ClientIdentity | None, Depends(require_client)],
) -> dict[str, int]:
    settings = runtime.settings
    service = SERVICES.get(service_id)
    if service is None:
        raise NotFound(f"no CDS service '{service_id[:64]}'")
    quota = runtime.feedback_quota
    who = quota_key(client, request)
    throttle(quota.admit_request(who), "feedback requests")
    body = await read_json(request, settings.max_json_depth, settings.max_element_depth)
    refuse_nul(body)
    items = parse_feedback(body, settings.feedback_max_items)
    refuse_large_extensions(items, settings.feedback_max_extension_bytes)
    throttle(quota.admit_items(who, len(items)), "feedback items")
    storage = runtime.storage
    if storage.ledger.pending:
        # Cards just returned may still wait in the ledger's buffer: write them first, so
        # feedback on them is not flagged as about an unknown card.
        await asyncio.to_thread(storage.ledger.flush, _LEDGER_FLUSH_SECONDS)
    try:
        result = await asyncio.to_thread(
            save_feedback,
            storage.engine,
            service.id,
            items,
            datetime.now(UTC),
            client.owner if client is not None else "",
        )
    except ForeignCard as exc:
        log.warning(
            "feedback refused: a card sent to another client",
            extra={"service": service.id, "items": len(items)},
        )
        raise Forbidden(
            f"feedback[{exc.index}].card: this card was sent to another client; a client "
            "may give feedback only on its own cards (nothing of this request was stored)"
        ) from None
    except SQLAlchemyError as exc:
        if data_reason(exc) is not None:  # the values, not the database: retrying cannot help
            log.warning(
                "feedback not stored: the database refused a value",
                extra={"service": service.id, "reason": data_reason(exc), "items": len(items)},
            )
            raise BadRequest(
                "feedback refused: the database cannot store one of its values"
            ) from None
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


def refuse_nul(body: Any) -> None:
    """400 naming the field when a string holds a NUL: PostgreSQL cannot store it, and a
    database refusal must not look like an outage (503, retried for ever)."""
    where = nul_path(body)
    if where is not None:
        raise BadRequest(f"{where}: must not contain the NUL character (U+0000)")


def quota_key(client: ClientIdentity | None, request: Request) -> str:
    """Whose quota a request counts against: the verified issuer (and tenant), or in
    development (no verification) the remote address."""
    if client is not None:
        return f"iss:{client.issuer}|{client.tenant or ''}"
    return f"addr:{request.client.host if request.client else 'unknown'}"


def throttle(retry_after: int, what: str) -> None:
    if retry_after:
        log.warning("feedback throttled", extra={"quota": what, "retry_after": retry_after})
        raise TooManyRequests(
            f"too many {what} from this client; retry after {retry_after} s",
            retry_after=retry_after,
        )


def refuse_large_extensions(items: list[FeedbackItem], limit: int) -> None:
    """413 naming the item whose extension (and other unknown fields) exceed `limit` bytes."""
    for index, item in enumerate(items):
        # The stdlib encoder: it writes any decoded value (orjson refuses ints past 64 bits).
        if item.extra is not None and len(json.dumps(item.extra).encode("utf-8")) > limit:
            raise PayloadTooLarge(
                f"feedback[{index}].extension: at most {limit} bytes of extensions per item"
            )
