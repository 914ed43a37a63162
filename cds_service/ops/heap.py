"""Keep what start-up built out of the garbage collector's full collections.

A full (generation 2) collection walks every object the collector tracks. Start-up
leaves ~190,000 (modules, value sets, fhir.resources and pydantic classes, the
medspaCy model), and in a served worker one such walk took 100-250 ms, every few
seconds under load, stalling every call in flight (docs/performance.md). Python's
`gc.freeze()` moves every tracked object into a permanent generation that is never
walked again; the objects live as long as the process anyway.

A frozen object that later becomes cyclic garbage is never freed, so nothing a
request made may be frozen: the first freeze runs in the lifespan before any request
is served, and the second, once a call that needed it has built the MRI text model
(fhir_mappings.mri_text builds it on first need; a worker that never reads a report
never builds it, and never needs the second freeze), only at a moment with no request
in flight, after a full collection (so that nothing frozen is already garbage).
Objects still reachable then are the service's own (settings, clients, the text
model; the ledger queue holds patient hashes, not patient data), and refcounting
still frees any of them that is dropped.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable

__all__ = ["StartUpHeap"]

_IDLE_POLL_SECONDS = 0.05
_BUILT_POLL_SECONDS = 0.5


class StartUpHeap:
    """Counts the HTTP requests in flight and freezes the start-up heap (see module)."""

    def __init__(self) -> None:
        self.in_flight = 0  # changed on the event loop's thread only

    def started(self) -> None:
        self.in_flight += 1

    def ended(self) -> None:
        self.in_flight -= 1

    def freeze(self) -> None:
        """After the synchronous warm-up, before serving."""
        gc.freeze()

    async def freeze_when_idle(self, built: Callable[[], bool]) -> None:
        """Once `built()` says the text model exists (polled: it is built by whichever
        call first needs it), freeze at the first moment no request is in flight."""
        # Polled, not an asyncio.Event: an app's lifespan may run on more than one loop.
        while not built():
            await asyncio.sleep(_BUILT_POLL_SECONDS)
        while self.in_flight:
            await asyncio.sleep(_IDLE_POLL_SECONDS)
        gc.collect()
        gc.freeze()
