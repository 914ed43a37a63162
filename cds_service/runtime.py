"""The one typed object a running app holds, and the dependencies that hand it out.

`Runtime` is what every route needs beyond its request: the settings, the clock
(frozen in tests), storage (card ledger, feedback), the readiness checks, and, for
as long as the app's lifespan runs, the pooled FHIR client and the client JWT
verifier (with its JWKS client and jti replay cache). `create_app` makes it;
`running()` is the lifespan. Routes get it with `Depends(get_runtime)`, the hook route
(nearly every request, called without dependency solving) with `runtime_of`; nothing
else is kept on the app or written into a request for another layer to read.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from typing import Annotated

import httpx
from fastapi import Depends, FastAPI, Request

from cards.config import RuleConfig
from cds_hooks import ServiceDefinition
from cds_service.auth import ClientIdentity, ClientVerifier, authenticate, open_verifier
from cds_service.catalogue import services
from cds_service.config import Settings
from cds_service.fetch import new_client
from cds_service.ops import (
    PatientHasher,
    Readiness,
    StartUpHeap,
    database_check,
    ledger_check,
    value_sets_check,
)
from cds_service.pipeline import warm_up
from cds_service.quota import FeedbackQuota
from cds_service.storage import Storage
from fhir_mappings.config import MappingConfig
from fhir_mappings.mri_text import pipeline_ready

__all__ = ["Runtime", "get_runtime", "require_client", "runtime_of"]

log = logging.getLogger("ms_cds.app")


@dataclass
class Runtime:
    settings: Settings
    clock: Callable[[], date]
    storage: Storage
    readiness: Readiness
    feedback_quota: FeedbackQuota
    heap: StartUpHeap
    # Set while the lifespan runs; None before (a short-lived client fetches then).
    fhir_client: httpx.AsyncClient | None = None
    # Production only, set while the lifespan runs; None refuses every client.
    verifier: ClientVerifier | None = None
    # The catalogue these settings advertise (the Observation query names the site's
    # local MRI codes): made on first use.
    _services: dict[str, ServiceDefinition] | None = None
    # The patient hash key's HMAC state (ops.logs.PatientHasher): made on first use.
    _patient_hasher: PatientHasher | None = None
    # The rules' and the mappings' configuration from these settings: made on first use
    # (each call's would be the same; building them cost a call more than a hash).
    _rule_config: RuleConfig | None = None
    _mapping_config: MappingConfig | None = None

    def services(self) -> dict[str, ServiceDefinition]:
        if self._services is None:
            self._services = services(self.mapping_config())
        return self._services

    def rule_config(self) -> RuleConfig:
        if self._rule_config is None:
            self._rule_config = self.settings.rule_config()
        return self._rule_config

    def mapping_config(self) -> MappingConfig:
        if self._mapping_config is None:
            self._mapping_config = self.settings.mapping_config()
        return self._mapping_config

    @classmethod
    def create(cls, settings: Settings, clock: Callable[[], date]) -> Runtime:
        """Storage and the readiness checks: value sets loaded, the database reachable,
        the card ledger written. The database and ledger checks fail /readyz only when
        CDS_READINESS_REQUIRES_DATABASE is set: card evaluation works without them (the
        ledger buffers)."""
        storage = Storage(settings)
        readiness = Readiness(settings.readiness_timeout_seconds)
        readiness.add("valuesets", value_sets_check)
        readiness.add(
            "database", database_check(storage), critical=settings.readiness_requires_database
        )
        # As the database: a stuck ledger fails /readyz only when the database is required.
        readiness.add(
            "ledger", ledger_check(storage), critical=settings.readiness_requires_database
        )
        quota = FeedbackQuota(
            settings.feedback_requests_per_minute, settings.feedback_items_per_hour
        )
        return cls(settings, clock, storage, readiness, quota, StartUpHeap())

    def today(self) -> date:
        return self.clock()

    def patient_hash(self, patient_id: object) -> str | None:
        """The keyed hash logs and the ledger keep instead of a patient id (None: no id)."""
        if not isinstance(patient_id, str) or not patient_id:
            return None
        if self._patient_hasher is None:
            self._patient_hasher = PatientHasher(self.settings.patient_hash_secret())
        return self._patient_hasher(patient_id)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Runtime]:
        """The lifespan: storage started, one warm-up call per hook, the start-up heap
        frozen, the FHIR client and the verifier open; on the way out (after in-flight
        requests, on SIGTERM) the ledger entries still queued are written."""
        settings = self.settings
        if settings.dev:
            log.warning("DEVELOPMENT MODE: not for production use")
            if settings.patient_hash_key is None:
                log.warning("DEVELOPMENT MODE: patient hashes use the fixed development key")
        await asyncio.to_thread(self.storage.start)
        warm_up(settings, self.today())
        # Full collections would walk the start-up heap again and again (ops/heap.py).
        self.heap.freeze()
        text_model = asyncio.create_task(self.heap.freeze_when_idle(pipeline_ready))
        try:
            # One pooled FHIR client for all requests (keep-alive across hook calls).
            async with new_client(settings) as client, open_verifier(settings) as verifier:
                self.fhir_client, self.verifier = client, verifier
                try:
                    yield self
                finally:
                    self.fhir_client = self.verifier = None
        finally:
            text_model.cancel()
            await asyncio.to_thread(self.storage.close)
            log.info("shutdown complete")


def runtime_of(app: FastAPI) -> Runtime:
    """The app's Runtime (create_app keeps it as the app's one state attribute)."""
    runtime = app.state.runtime
    if not isinstance(runtime, Runtime):
        raise TypeError("not an app made by cds_service.app.create_app")
    return runtime


async def get_runtime(request: Request) -> Runtime:
    """Dependency: the app's Runtime. `async def`: FastAPI would run a plain `def`
    dependency in its thread pool."""
    return runtime_of(request.app)


async def require_client(
    request: Request, runtime: Annotated[Runtime, Depends(get_runtime)]
) -> ClientIdentity | None:
    """Dependency: the verified client (None in development), else a bare 401."""
    return await authenticate(request, runtime.settings, runtime.verifier)
