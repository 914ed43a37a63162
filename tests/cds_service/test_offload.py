"""CPU steps off the event loop: a large body's steps one at a time, the others beside them."""

from __future__ import annotations

import asyncio
import threading

from cds_service.offload import heavy_off_loop, off_loop
from fhir_mappings.textcap import matched_part, matched_text_limit

WAIT = 10.0  # seconds: generous, only ever reached when the behaviour is broken


def test_heavy_steps_run_one_at_a_time_while_ordinary_steps_go_on() -> None:
    """A second heavy step waits for the first to finish; an ordinary step does not."""
    release = threading.Event()
    running: list[str] = []

    def heavy(name: str) -> str:
        running.append(name)
        if name == "first":
            assert release.wait(WAIT)
        return name

    async def scenario() -> None:
        first = asyncio.create_task(heavy_off_loop(heavy, "first"))
        second = asyncio.create_task(heavy_off_loop(heavy, "second"))
        while not running:
            await asyncio.sleep(0.01)
        assert await asyncio.wait_for(off_loop(str.upper, "ordinary"), WAIT) == "ORDINARY"
        assert running == ["first"]
        release.set()
        assert await asyncio.wait_for(asyncio.gather(first, second), WAIT) == ["first", "second"]

    asyncio.run(scenario())


def test_the_turn_passes_when_the_step_ends_even_if_its_caller_gave_up() -> None:
    """A cancelled caller's step still holds the turn until its thread is done with it;
    then the next heavy step runs."""
    release = threading.Event()
    order: list[str] = []

    def heavy(name: str) -> str:
        order.append(f"{name} start")
        if name == "first":
            assert release.wait(WAIT)
        order.append(f"{name} end")
        return name

    async def scenario() -> None:
        first = asyncio.create_task(heavy_off_loop(heavy, "first"))
        while not order:
            await asyncio.sleep(0.01)
        second = asyncio.create_task(heavy_off_loop(heavy, "second"))
        first.cancel()
        await asyncio.sleep(0.05)
        assert order == ["first start"]
        release.set()
        assert await asyncio.wait_for(second, WAIT) == "second"
        assert order == ["first start", "first end", "second start", "second end"]

    asyncio.run(scenario())


def test_a_heavy_step_sees_the_request_context() -> None:
    """The request's context variables (the matched-text limit) follow the step."""

    async def scenario() -> str:
        with matched_text_limit(3):
            return await heavy_off_loop(matched_part, "abcdef")

    assert asyncio.run(scenario()) == "abc"
