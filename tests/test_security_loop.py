"""Issue 17 #21: a large fetched Bundle is decoded and mapped off the event loop."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
import respx

from cds_hooks import parse_request
from cds_service.catalogue import service_for_hook
from cds_service.fetch import guard as fhir_guard
from cds_service.pipeline import run_service
from tests import builders as b
from tests.conftest import TODAY
from tests.fhir_fakes import (
    BASE,
    fetch_request,
    production,
    public_resolver,
    resolve,
    search_bundle,
)

TEXT = "Condition with a longer free text that the mapping has to read and match. " * 3
# About 2.7 MB: long enough to decode and map that a blocked loop shows.
LARGE = json.dumps(
    search_bundle(b.ms_condition(), *(b.condition(f"c{i}", text=TEXT) for i in range(6000)))
).encode()


@pytest.fixture
def fhir(monkeypatch: pytest.MonkeyPatch) -> Iterator[respx.MockRouter]:
    """respx scoped to the FHIR base URL, whose host resolves publicly."""
    monkeypatch.setattr(fhir_guard, "resolve_host", public_resolver)
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


class Ticker:
    """Counts how often the event loop gets to run other work while it is alive."""

    def __init__(self) -> None:
        self.ticks = 0
        self._done = asyncio.Event()

    async def __aenter__(self) -> Ticker:
        self._task = asyncio.create_task(self._tick())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._done.set()
        await self._task

    async def _tick(self) -> None:
        while not self._done.is_set():
            self.ticks += 1
            await asyncio.sleep(0)


# Blocked, the loop ticks only at a call's few awaits (about ten); free, it ticks each
# time the GIL comes back to it (every 5 ms at most) while the pool works.
FREE = 50


async def test_other_work_runs_while_a_large_fetched_bundle_is_mapped(
    fhir: respx.MockRouter,
) -> None:
    """Decoding and mapping a 2.7 MB fetched Bundle leave the loop free for other calls."""
    fhir.get("/Condition").respond(content=LARGE, headers={"content-type": "application/fhir+json"})
    request = parse_request(fetch_request("conditions"))
    service = service_for_hook(request.hook)
    assert service is not None
    async with Ticker() as ticker:
        _, evaluation = await run_service(
            service, request, production(fhir_max_response_bytes=10_000_000), TODAY
        )
    assert evaluation.facts.ms_diagnoses  # the fetched Bundle was decoded and mapped
    assert "conditions" not in evaluation.facts.unavailable
    assert ticker.ticks > FREE, ticker.ticks


async def test_a_large_fetched_body_is_parsed_off_the_loop(fhir: respx.MockRouter) -> None:
    """Parsing and cleaning a large fetched body alone leaves the loop free too."""
    fhir.get("/Condition").respond(content=LARGE, headers={"content-type": "application/fhir+json"})
    async with Ticker() as ticker:
        record = await resolve(
            fetch_request("conditions"), production(fhir_max_response_bytes=10_000_000)
        )
    assert record.missing == {}
    assert ticker.ticks > FREE, ticker.ticks
