"""Issue 17 #21: a large fetched Bundle is decoded and mapped off the event loop."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
import respx

from cards import engine
from cds_hooks import parse_request
from cds_service import pipeline
from cds_service.catalogue import service_for_hook
from cds_service.fetch import client as fhir_client
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


T = TypeVar("T")


@pytest.fixture
def fhir(monkeypatch: pytest.MonkeyPatch) -> Iterator[respx.MockRouter]:
    """respx scoped to the FHIR base URL, whose host resolves publicly."""
    monkeypatch.setattr(fhir_guard, "resolve_host", public_resolver)
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


class LoopWatch:
    """Proves the event loop ran while a CPU step was in progress, or that it could not.

    The step, wrapped by `watch`, waits until the loop has ticked after the step began.
    Off the loop the tick comes at once; on the loop it never can, and the wait times
    out. No count of ticks, so a fast or a loaded machine gives the same answer.
    """

    def __init__(self) -> None:
        self.threads: list[str] = []
        self._waits: list[bool] = []  # per step: did the loop tick before the wait ended
        self._started = threading.Event()
        self._ticked = threading.Event()
        self._done = asyncio.Event()

    def watch(self, step: Callable[..., T]) -> Callable[..., T]:
        def watched(*args: Any, **kwargs: Any) -> T:
            self.threads.append(threading.current_thread().name)
            self._started.set()
            self._waits.append(self._ticked.wait(WAIT_SECONDS))
            return step(*args, **kwargs)

        return watched

    @property
    def loop_ran_during_step(self) -> bool:
        return bool(self._waits) and all(self._waits)

    async def __aenter__(self) -> LoopWatch:
        self._task = asyncio.create_task(self._tick())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._done.set()
        await self._task

    async def _tick(self) -> None:
        while not self._done.is_set():
            if self._started.is_set():
                self._ticked.set()
            await asyncio.sleep(0)


# How long a step on the loop waits for a tick that cannot come before it goes on.
WAIT_SECONDS = 2.0


async def test_other_work_runs_while_a_large_fetched_bundle_is_mapped(
    fhir: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Decoding and mapping a 2.7 MB fetched Bundle leave the loop free for other calls."""
    fhir.get("/Condition").respond(content=LARGE, headers={"content-type": "application/fhir+json"})
    request = parse_request(fetch_request("conditions"))
    service = service_for_hook(request.hook)
    assert service is not None
    watch = LoopWatch()
    monkeypatch.setattr(pipeline, "conclude", watch.watch(engine.conclude))
    async with watch:
        _, evaluation = await run_service(
            service, request, production(fhir_max_response_bytes=10_000_000), TODAY
        )
    assert evaluation.facts.ms_diagnoses  # the fetched Bundle was decoded and mapped
    assert "conditions" not in evaluation.facts.unavailable
    assert watch.threads and all(t.startswith("ms-cds-cpu") for t in watch.threads)
    assert watch.loop_ran_during_step


async def test_a_large_fetched_body_is_parsed_off_the_loop(
    fhir: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parsing and cleaning a large fetched body alone leaves the loop free too."""
    fhir.get("/Condition").respond(content=LARGE, headers={"content-type": "application/fhir+json"})
    watch = LoopWatch()
    monkeypatch.setattr(fhir_client, "_parse", watch.watch(fhir_client._parse))
    async with watch:
        record = await resolve(
            fetch_request("conditions"), production(fhir_max_response_bytes=10_000_000)
        )
    assert record.missing == {}
    assert watch.threads and all(t.startswith("ms-cds-cpu") for t in watch.threads)
    assert watch.loop_ran_during_step
