"""The start-up heap: frozen out of the collector's reach, never while a request runs."""

from __future__ import annotations

import asyncio
import gc

import pytest
from starlette.types import Message, Receive, Scope, Send

from cds_service.ops import OpsMiddleware, StartUpHeap


def _tracked(value: object) -> bool:
    """The collector's generations hold `value` (a frozen object is in none of them)."""
    return any(o is value for o in gc.get_objects())


def test_freeze_waits_for_the_build_and_for_no_request_in_flight() -> None:
    """Objects alive while a request runs stay collectable; once it ends they are frozen."""

    async def scenario() -> None:
        heap = StartUpHeap()
        heap.started()
        marker: list[object] = [object()]  # stands for what the text model build made
        task = asyncio.create_task(heap.freeze_when_idle(lambda: True))
        await asyncio.sleep(0.2)
        assert not task.done()  # built, but a request is in flight
        assert _tracked(marker)
        heap.ended()
        await asyncio.wait_for(task, 10)
        assert not _tracked(marker)

    asyncio.run(scenario())


def test_nothing_is_frozen_until_a_call_has_built_the_text_model() -> None:
    """A worker whose text model is not built (no report read yet) freezes nothing more."""

    async def scenario() -> None:
        built = [False]
        marker: list[object] = [object()]
        task = asyncio.create_task(StartUpHeap().freeze_when_idle(lambda: built[0]))
        await asyncio.sleep(0.7)
        assert not task.done()
        assert _tracked(marker)
        built[0] = True  # the first call that read a report built it
        await asyncio.wait_for(task, 10)
        assert not _tracked(marker)

    asyncio.run(scenario())


@pytest.mark.parametrize("fails", [False, True])
def test_in_flight_counts_each_http_request_until_it_ends(fails: bool) -> None:
    """The count is 1 while the app answers and back to 0 after, an exception too."""
    heap = StartUpHeap()
    seen: list[int] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(heap.in_flight)
        if fails and scope["type"] == "http":
            raise RuntimeError("handler failed")

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        return None

    middleware = OpsMiddleware(app, heap)
    scope: Scope = {"type": "http", "method": "GET", "path": "/healthz"}
    try:
        asyncio.run(middleware(scope, receive, send))
    except RuntimeError:
        assert fails
    assert seen == [1]
    assert heap.in_flight == 0
    asyncio.run(middleware({"type": "lifespan"}, receive, send))
    assert seen == [1, 0]  # a lifespan is not a request
