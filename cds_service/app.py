"""create_app(settings): the ASGI application, its lifespan and its routes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from cards.registry import check_registry
from cds_service.errors import install_error_handlers
from cds_service.logs import configure_logging
from cds_service.protocol import HookRequest
from cds_service.routes import discovery, services
from cds_service.services import SERVICES
from cds_service.settings import Settings

__all__ = ["OPERATION_OUTCOME_SCHEMA", "create_app"]

log = logging.getLogger("ms_cds.app")


def _today() -> date:
    return datetime.now(UTC).date()


def create_app(settings: Settings | None = None, clock: Callable[[], date] = _today) -> FastAPI:
    settings = settings or Settings()
    check_registry()  # fail fast: broken rules or value sets never serve

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.dev:
            log.warning("DEVELOPMENT MODE: not for production use")
        yield

    app = FastAPI(title="MS CDS Hooks service", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.clock = clock
    install_error_handlers(app)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"] if settings.dev else [],
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type"],
    )
    app.include_router(discovery.router)
    app.include_router(services.router)
    _document_request_body(app)
    configure_logging(settings.effective_log_format, settings.log_level)
    return app


OPERATION_OUTCOME_SCHEMA: dict[str, Any] = {
    "title": "OperationOutcome",
    "description": "FHIR R4 OperationOutcome: every error body (except 401, which is bare).",
    "type": "object",
    "required": ["resourceType", "issue"],
    "properties": {
        "resourceType": {"const": "OperationOutcome"},
        "issue": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["severity", "code"],
                "properties": {
                    "severity": {"enum": ["fatal", "error", "warning", "information"]},
                    "code": {"type": "string"},
                    "diagnostics": {"type": "string"},
                    "expression": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
}

# What POST /cds-services/{id} answers besides 200 (see cds_service/errors.py).
_HOOK_ERRORS = {
    "400": "Malformed JSON, an invalid envelope or context, or a hook the service does not serve",
    "404": "No such CDS service",
    "412": "Required prefetch data is missing and cannot be fetched",
    "413": "The request is too large",
    "415": "The request body is not JSON",
}


def _document_request_body(app: FastAPI) -> None:
    """Make /openapi.json tell the truth about the hook endpoint.

    The route parses its body itself (for precise 400s), so HookRequest is
    registered by hand; errors are OperationOutcomes (never FastAPI's 422).
    """
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        defs = HookRequest.model_json_schema(ref_template="#/components/schemas/{model}")
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(defs.pop("$defs", {}))
        components["HookRequest"] = defs
        components["OperationOutcome"] = OPERATION_OUTCOME_SCHEMA
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        outcome = {"schema": {"$ref": "#/components/schemas/OperationOutcome"}}
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                operation.get("responses", {}).pop("422", None)
        hook = schema["paths"]["/cds-services/{service_id}"]["post"]
        for parameter in hook.get("parameters", []):
            if parameter.get("name") == "service_id":
                parameter["schema"]["enum"] = sorted(SERVICES)
        body = {"schema": {"$ref": "#/components/schemas/HookRequest"}}
        hook["requestBody"]["content"] = {"application/json": body, "application/fhir+json": body}
        for status, description in _HOOK_ERRORS.items():
            hook["responses"][status] = {
                "description": description,
                "content": {"application/fhir+json": outcome},
            }
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
