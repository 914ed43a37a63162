"""GET /analytics/cards: override analytics as JSON, for holders of the admin token."""

from __future__ import annotations

import asyncio
import hmac
import logging
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.exc import SQLAlchemyError

from cds_service.errors import BadRequest, NotFound, ServiceUnavailable, Unauthorized
from cds_service.runtime import Runtime, get_runtime
from cds_service.storage.report import card_report, parse_since

log = logging.getLogger("ms_cds.analytics")

router = APIRouter()


async def require_admin(
    request: Request, runtime: Annotated[Runtime, Depends(get_runtime)]
) -> None:
    """404 when no admin token is configured (the endpoint does not exist); 401 when the
    bearer token is missing or wrong (constant-time comparison)."""
    settings = runtime.settings
    if settings.admin_token is None:
        raise NotFound("not found")
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    expected = settings.admin_token.get_secret_value().encode("utf-8")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        token.strip().encode("utf-8"), expected
    ):
        raise Unauthorized("admin token required")


@router.get(
    "/analytics/cards",
    dependencies=[Depends(require_admin)],
    summary="Card override analytics per topic",
)
async def analytics_cards(
    runtime: Annotated[Runtime, Depends(get_runtime)],
    since: Annotated[
        str | None, Query(description="Only cards issued and feedback received since (ISO 8601)")
    ] = None,
) -> dict[str, Any]:
    try:
        since_at: datetime | None = parse_since(since) if since else None
    except ValueError:
        raise BadRequest("since: must be an ISO 8601 date or date-time") from None
    try:
        return await asyncio.to_thread(card_report, runtime.storage.engine, since_at)
    except SQLAlchemyError as exc:
        log.error("analytics unavailable", extra={"error_type": type(exc).__name__})
        raise ServiceUnavailable("analytics unavailable now; retry later") from None
