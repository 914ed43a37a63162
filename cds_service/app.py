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

from cards.registry import check_registry
from cds_service.auth import client_verification
from cds_service.errors import ConfigurationError, install_error_handlers
from cds_service.facts_cache import cache_for
from cds_service.fhir_client import new_client
from cds_service.limits import BodyLimitMiddleware
from cds_service.logs import AccessLogMiddleware, configure_logging
from cds_service.protocol import HookRequest
from cds_service.routes import analytics, discovery, feedback, services
from cds_service.settings import Settings
from cds_service.storage import Storage
from cds_service.warmup import warm_up

__all__ = ["create_app"]

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
            await asyncio.to_thread(storage.close)  # writes the ledger entries still queued
            if app.state.facts_cache is not None:
                await app.state.facts_cache.close()

    app = FastAPI(title="MS CDS Hooks service", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.clock = clock
    storage = app.state.storage = Storage(settings)
    app.state.facts_cache = cache_for(settings)
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
    app.include_router(discovery.router)
    app.include_router(services.router)
    app.include_router(feedback.router)
    app.include_router(analytics.router)
    _document_request_body(app)
    configure_logging(settings.effective_log_format, settings.log_level)
    return app


def _document_request_body(app: FastAPI) -> None:
    """Register HookRequest in the OpenAPI components (the route parses the body itself)."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        defs = HookRequest.model_json_schema(ref_template="#/components/schemas/{model}")
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(defs.pop("$defs", {}))
        components["HookRequest"] = defs
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
