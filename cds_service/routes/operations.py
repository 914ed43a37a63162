"""GET /healthz (the process answers), GET /readyz (ready for traffic), GET /metrics.

All answer without authentication, for probes and scrapers. /readyz runs every
readiness check of the app's Runtime: 503 "not ready" naming the failing critical
ones; 200 "degraded" when only non-critical ones fail (they are named too); else 200
"ready". /metrics is the Prometheus exposition (every worker's values in
multiprocess mode); create_app leaves it out when CDS_METRICS_ENABLED is false.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from cards.config import KNOWLEDGE_VERSION
from cds_service.ops import render_metrics
from cds_service.runtime import Runtime, get_runtime

__all__ = ["metrics_router", "router"]

router = APIRouter(tags=["operations"])
metrics_router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz(request: Request) -> dict[str, Any]:
    return {
        "status": "ok",
        "version": request.app.version,
        "knowledgeVersion": KNOWLEDGE_VERSION,
    }


@router.get("/readyz", summary="Readiness: value sets and dependencies are ready")
async def readyz(runtime: Annotated[Runtime, Depends(get_runtime)]) -> JSONResponse:
    readiness = runtime.readiness
    results = await readiness.run()
    checks = {
        name: {"ok": r.ok, "critical": readiness.is_critical(name), "detail": r.detail}
        for name, r in results.items()
    }
    failing = sorted(name for name, r in results.items() if not r.ok)
    blocking = [name for name in failing if readiness.is_critical(name)]
    status = "not ready" if blocking else "degraded" if failing else "ready"
    body: dict[str, Any] = {"status": status, "checks": checks}
    if failing:
        body["failing"] = failing
    return JSONResponse(body, status_code=503 if blocking else 200)


@metrics_router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
async def metrics() -> Response:
    body, content_type = render_metrics()
    return Response(body, media_type=content_type)
