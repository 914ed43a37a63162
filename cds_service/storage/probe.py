"""The database ping behind GET /readyz: at most one per interval, never queued behind
feedback.

/readyz is unauthenticated, so what it costs must not grow with its callers: the result
of the last ping (reachable or not, when, and the error's type: values the service
computed, nothing a caller sent) is answered for `interval` seconds; callers arriving
while a ping runs wait for that one. The ping runs on its own thread with its own
engine (and so its own connection), so a saturated thread pool or connection pool
(feedback against a slow database) never delays it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import Engine

__all__ = ["DatabaseProbe", "PingResult"]


@dataclass(frozen=True, slots=True)
class PingResult:
    ok: bool
    checked_at: float  # the probe clock's time (monotonic)
    error_type: str | None = None


class DatabaseProbe:
    def __init__(
        self,
        engine: Engine,
        interval: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self._interval = interval
        self._clock = clock
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="db-ping")
        self._lock = threading.Lock()
        self._last: PingResult | None = None
        self._running: Future[PingResult] | None = None

    async def check(self) -> PingResult:
        """The last ping's result while fresh, else the result of a new (shared) ping."""
        with self._lock:
            last = self._last
            if last is not None and self._clock() - last.checked_at < self._interval:
                return last
            if self._running is None or self._running.done():
                self._running = self._executor.submit(self._ping)
            running = self._running
        # Shielded: a caller's time limit ends its wait, not the ping others share.
        return await asyncio.shield(asyncio.wrap_future(running))

    def _ping(self) -> PingResult:
        try:
            # The driver's connection, not SQLAlchemy's: no transaction begins, so on SQLite
            # no write lock is taken (the engine begins IMMEDIATE) and none is waited for.
            connection = self.engine.raw_connection()
            try:
                cursor = connection.cursor()
                cursor.execute("SELECT 1")
                cursor.fetchall()
                cursor.close()
            finally:
                connection.close()
            result = PingResult(True, self._clock())
        except Exception as exc:  # any failure is a result (its type only: no message)
            result = PingResult(False, self._clock(), type(exc).__name__)
        with self._lock:
            self._last = result
        return result

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        self.engine.dispose()
