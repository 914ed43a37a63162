"""GET /cds-services: the discovery document."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from cds_service.services import discovery_document

router = APIRouter()


@router.get("/cds-services", summary="CDS Hooks discovery")
async def discovery() -> dict[str, Any]:
    return discovery_document()
