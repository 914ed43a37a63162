"""GET /metrics: Prometheus exposition (every worker's values in multiprocess mode)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from cds_service.metrics import render_metrics

router = APIRouter(tags=["operations"])


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
def metrics() -> Response:
    body, content_type = render_metrics()
    return Response(body, media_type=content_type)
