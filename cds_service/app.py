"""create_app(settings): the ASGI application, its lifespan and its routes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy import text

from cards.registry import RULES, check_registry
from cds_service.auth import client_verification
from cds_service.errors import ConfigurationError, install_error_handlers
from cds_service.facts_cache import cache_for
from cds_service.fhir_client import new_client
from cds_service.limits import BodyLimitMiddleware
from cds_service.logs import AccessLogMiddleware, configure_logging
from cds_service.metrics import HookMetricsMiddleware
from cds_service.protocol import HookRequest
from cds_service.readiness import CheckResult, Readiness
from cds_service.routes import analytics, discovery, feedback, health, metrics, services
from cds_service.services import SERVICES
from cds_service.settings import Settings
from cds_service.storage import Storage
from cds_service.warmup import warm_up
from fhir_mappings.valuesets import all_value_sets

__all__ = ["OPERATION_OUTCOME_SCHEMA", "create_app"]

log = logging.getLogger("ms_cds.app")


def _today() -> date:
    return datetime.now(UTC).date()


def create_app(settings: Settings | None = None, clock: Callable[[], date] = _today) -> FastAPI:
    settings = settings or Settings()
    check_registry()  # fail fast: broken rules or value sets never serve
    problems = settings.production_problems()
    if problems:
        raise ConfigurationError(*problems)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.dev:
            log.warning("DEVELOPMENT MODE: not for production use")
            if settings.patient_hash_key is None:
                log.warning("DEVELOPMENT MODE: patient hashes use the fixed development key")
        await asyncio.to_thread(storage.start)
        warm_up(settings.rule_config(), settings.mapping_config(), clock())
        try:
            # One pooled FHIR client for all requests (keep-alive across hook calls).
            async with (
                new_client(settings) as fhir_client,
                client_verification(app.state, settings),
            ):
                app.state.fhir_client = fhir_client
                yield
                app.state.fhir_client = None
        finally:
            # uvicorn gets here on SIGTERM once in-flight requests have finished.
            await asyncio.to_thread(storage.close)  # writes the ledger entries still queued
            if app.state.facts_cache is not None:
                await app.state.facts_cache.close()
            log.info("shutdown complete")

    app = FastAPI(title="MS CDS Hooks service", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.clock = clock
    app.state.registry_checked = True  # check_registry passed, or we would not be here
    storage = app.state.storage = Storage(settings)
    app.state.facts_cache = cache_for(settings)
    app.state.readiness = _builtin_readiness(app, settings, storage)
    install_error_handlers(app)
    # Last added runs first: access log, then CORS (so that every answer, a 413 too,
    # carries its headers), then the body limit.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    origins, origin_regex = settings.cors_policy()
    app.add_middleware(
        CORSMiddleware,
        allow_origins=origins,
        allow_origin_regex=origin_regex,
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type"],
        max_age=600,
    )
    app.add_middleware(AccessLogMiddleware)
    app.add_middleware(HookMetricsMiddleware)  # outermost: counts every status, 413 too
    # The hook route first: routes are matched in order, and it takes nearly every request.
    app.include_router(services.router)
    app.include_router(health.router)
    if settings.metrics_enabled:
        app.include_router(metrics.router)
    app.include_router(discovery.router)
    app.include_router(feedback.router)
    app.include_router(analytics.router)
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

# The error answers of each operation (see cds_service/errors.py): OperationOutcomes,
# except 401, which is bare.
_ERROR_TEXT = {
    "400": "Malformed JSON, nested too deeply, or an invalid envelope, context or field",
    "401": "Client authentication failed (no body)",
    "404": "No such CDS service (or the endpoint is switched off)",
    "412": "Required prefetch data is missing and cannot be fetched",
    "413": "The request body is too large",
    "415": "The request body is not UTF-8 JSON",
    "503": "A dependency (keys, database) is unavailable; retry later",
}
_ERRORS: dict[tuple[str, str], tuple[str, ...]] = {
    ("/cds-services/{service_id}", "post"): ("400", "401", "404", "412", "413", "415", "503"),
    ("/cds-services/{service_id}/feedback", "post"): ("400", "401", "404", "413", "415", "503"),
    ("/analytics/cards", "get"): ("400", "401", "404", "503"),
}


def _document_errors(schema: dict[str, Any]) -> None:
    outcome = {"schema": {"$ref": "#/components/schemas/OperationOutcome"}}
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)  # FastAPI's own; the service answers 400 instead
            for status in _ERRORS.get((path, method), ()):
                responses[status] = {"description": _ERROR_TEXT[status]}
                if status != "401":
                    responses[status]["content"] = {"application/fhir+json": outcome}


def _builtin_readiness(app: FastAPI, settings: Settings, storage: Storage) -> Readiness:
    """Rules checked, value sets loaded, and the database reachable. The database check
    only fails /readyz when CDS_READINESS_REQUIRES_DATABASE is set: card evaluation works
    without it (the ledger buffers), so by default it is reported, not required."""
    readiness = Readiness(settings.readiness_timeout_seconds)

    async def rules() -> CheckResult:
        checked = bool(getattr(app.state, "registry_checked", False))
        return CheckResult(checked, f"{len(RULES)} rules checked" if checked else "not checked")

    async def value_sets() -> CheckResult:
        loaded = all_value_sets()  # cached after the start-up check
        return CheckResult(bool(loaded), f"{len(loaded)} value sets loaded")

    def ping() -> None:
        with storage.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    async def database() -> CheckResult:
        await asyncio.to_thread(ping)
        return CheckResult(True, "reachable")

    readiness.add("rules", rules)
    readiness.add("valuesets", value_sets)
    readiness.add("database", database, critical=settings.readiness_requires_database)
    return readiness


def _document_request_body(app: FastAPI) -> None:
    """Make /openapi.json tell the truth about the endpoints.

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
        _document_errors(schema)
        hook = schema["paths"]["/cds-services/{service_id}"]["post"]
        for parameter in hook.get("parameters", []):
            if parameter.get("name") == "service_id":
                parameter["schema"]["enum"] = sorted(SERVICES)
        body = {"schema": {"$ref": "#/components/schemas/HookRequest"}}
        hook["requestBody"]["content"] = {"application/json": body, "application/fhir+json": body}
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
