"""CPU-heavy steps of one request run off the event loop, in a small pool of threads.

Decoding a fetched FHIR body (JSON parse, surrogate cleaning, depth pruning) and
mapping a record to facts and cards take time in proportion to the data; on the loop,
`/healthz` and every other call would wait for them. Here they run in `WORKERS`
threads; the loop thread keeps the GIL's share (it is handed over every
`sys.getswitchinterval()`, 5 ms by default), so other calls and health checks go on.
More such steps than workers queue here, not on the loop. The work per request stays
bounded by the input caps (`CDS_MAX_BODY_BYTES`, `CDS_FHIR_MAX_RESPONSE_BYTES`,
`CDS_FHIR_MAX_PAGES`); a step whose caller gave up (deadline, disconnect) runs to its
end and its result is dropped.

`heavy_off_loop` is for the steps of a large request body (the caller sent it, so it
may be a worst case on purpose): at most one of them runs at a time per event loop
(per worker process), the others wait their turn on the loop, holding no thread. So
the loop contends for the GIL with one CPU thread rather than every worker, and a
worker thread stays free for the ordinary off-loop steps (a fetched record's decode
and mapping) of normal calls.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import os
import weakref
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import ParamSpec, TypeVar

__all__ = ["WORKERS", "heavy_off_loop", "off_loop"]

P = ParamSpec("P")
T = TypeVar("T")

WORKERS = max(2, os.cpu_count() or 1)
"""Threads for CPU steps: more would only share the same GIL; apart from the default
executor so that database calls (feedback, readiness) never queue behind mapping."""
# Threads start on first use (after any fork), and hold no request data between steps.
_POOL = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="ms-cds-cpu")


async def off_loop(function: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """`function(*args, **kwargs)` in the CPU pool, with the caller's context variables."""
    context = contextvars.copy_context()
    call = functools.partial(context.run, function, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_POOL, call)


# One gate per event loop (a semaphore belongs to the loop it is first used on); the
# entry goes with its loop. No request data: only who may run next.
_HEAVY_GATES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


async def heavy_off_loop(function: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """As `off_loop`, one such step at a time per event loop. The turn passes on when the
    thread has finished the step, even if its caller gave up waiting for it."""
    loop = asyncio.get_running_loop()
    gate = _HEAVY_GATES.get(loop)
    if gate is None:
        gate = _HEAVY_GATES[loop] = asyncio.Semaphore(1)
    await gate.acquire()
    context = contextvars.copy_context()
    try:
        future = _POOL.submit(context.run, functools.partial(function, *args, **kwargs))
    except BaseException:
        gate.release()
        raise
    future.add_done_callback(functools.partial(_pass_turn, loop, gate))
    return await asyncio.wrap_future(future)


def _pass_turn(loop: asyncio.AbstractEventLoop, gate: asyncio.Semaphore, _: Future[T]) -> None:
    try:
        loop.call_soon_threadsafe(gate.release)
    except RuntimeError:  # the loop closed meanwhile: nobody is waiting on its gate
        pass
