"""create_app(settings): the ASGI application, its lifespan, middleware and routes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from cards.registry import check_registry
from cds_service.body import BodyLimitMiddleware
from cds_service.config import ConfigurationError, Settings
from cds_service.errors import install_error_handlers
from cds_service.ops import OpsMiddleware
from cds_service.routes import analytics, document_api, feedback, hooks, operations
from cds_service.runtime import Runtime
from fhir_mappings.mri_text import check_terms

__all__ = ["create_app"]


def _today() -> date:
    return datetime.now(UTC).date()


def create_app(settings: Settings | None = None, clock: Callable[[], date] = _today) -> FastAPI:
    """The app for these settings; ConfigurationError when production mode must refuse
    them. `clock` gives today's date (frozen in tests)."""
    settings = settings or Settings()
    check_registry()  # fail fast: broken rules or value sets never serve
    check_terms()  # the MRI text rules (the model itself is built by the warm-up)
    problems = settings.production_problems()
    if problems:
        raise ConfigurationError(problems)
    runtime = Runtime.create(settings, clock)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with runtime.running():
            yield

    # FastAPI's native OpenTelemetry off: it would record exception messages (which may
    # quote a request) and costs every request a provider check; ops/ has the metrics.
    app = FastAPI(
        title="MS CDS Hooks service",
        version="0.1.0",
        lifespan=lifespan,
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.runtime = runtime
    install_error_handlers(app)
    # Last added runs first: ops (the in-flight count, hook metrics of every status, a 413
    # too, and the access log), then CORS (so that every answer carries its headers), then
    # the body limit.
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
    app.add_middleware(OpsMiddleware, heap=runtime.heap)
    # The hook routes first: routes are matched in order, and they take nearly every request.
    hooks.add_routes(app.router)
    app.include_router(operations.router)
    if settings.metrics_enabled:
        app.include_router(operations.metrics_router)
    app.include_router(feedback.router)
    app.include_router(analytics.router)
    if settings.dev and settings.demo:  # never in production: production_problems refuses it
        from cds_service import demo

        app.include_router(demo.router)
    document_api(app)
    return app
