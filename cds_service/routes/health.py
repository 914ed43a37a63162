"""GET /healthz (the process answers) and GET /readyz (ready for traffic), for probes.

Both answer JSON and need no authentication. /readyz runs every readiness check
(`app.state.readiness`): 503 "not ready" naming the failing critical ones; 200
"degraded" when only non-critical ones fail (they are named too); else 200 "ready".
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from cards.config import KNOWLEDGE_VERSION
from cds_service.readiness import Readiness

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz(request: Request) -> dict[str, Any]:
    return {
        "status": "ok",
        "version": request.app.version,
        "knowledgeVersion": KNOWLEDGE_VERSION,
    }


@router.get("/readyz", summary="Readiness: rules, value sets and dependencies are ready")
async def readyz(request: Request) -> JSONResponse:
    readiness: Readiness = request.app.state.readiness
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
