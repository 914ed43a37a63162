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
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

__all__ = ["WORKERS", "off_loop"]

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
