"""The card ledger: every returned card, recorded without slowing the response.

`record()` only appends to an in-memory buffer (microseconds, never raises); a writer
thread drains it in batches, one transaction each, gathering a batch for up to
`write_interval` seconds first (hundreds of one-card transactions a second would cost
the request thread its interpreter time; `flush()` writes at once). When the database
is unreachable the batch stays in the buffer and is retried with backoff (0.5 s
doubling to 30 s), so a short outage loses nothing. Two limits, each logged with a count when hit:
- the buffer holds at most `ledger_buffer_size` entries: beyond that new entries are
  dropped (memory must stay bounded during a long outage);
- at shutdown the writer gets `ledger_shutdown_timeout` seconds to write what is left.
Inserts skip a card uuid already present, so a retried batch is never written twice.

A batch the database refuses for a data reason (a value it cannot store: not an outage)
is split in halves until the refused entries are alone; each is quarantined (dropped,
logged with a reason code and counts, never its values, and passed to `on_quarantine`
for the metric) and the rest is written. `status()` says whether entries have waited
longer than `stuck_after` seconds without a write (GET /readyz reports it).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    IntegrityError,
    SQLAlchemyError,
    StatementError,
)

from cds_service.storage.schema import card_ledger
from cds_service.storage.sql import insert_ignore

__all__ = ["CardLedger", "LedgerEntry", "LedgerStatus", "data_reason"]

log = logging.getLogger("ms_cds.ledger")


def data_reason(exc: SQLAlchemyError) -> str | None:
    """The `metrics.QUARANTINE_REASONS` value when the database refused the values themselves
    (retrying cannot help), None for anything else (an outage, a missing table: retry)."""
    if isinstance(exc, DataError):
        return "data_error"
    if isinstance(exc, IntegrityError):
        return "integrity_error"
    if isinstance(exc, StatementError) and not isinstance(exc, DBAPIError):
        return "statement_error"  # the driver refused a value before sending it
    return None


@dataclass(frozen=True, slots=True)
class LedgerStatus:
    pending: int
    waiting_seconds: float  # how long entries have waited without a write (0: none wait)
    consecutive_failures: int
    quarantined: int
    dropped: int
    stuck: bool


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    card_uuid: str | None
    service_id: str
    topic: str | None
    hook_instance: str
    patient_hash: str | None
    issued_at: datetime
    knowledge_version: str
    client: str = ""  # auth.ClientIdentity.owner of the caller; "" in development

    def row(self) -> dict[str, object]:
        """The insert parameters (`dataclasses.asdict` would deep-copy every row)."""
        return {name: getattr(self, name) for name in self.__slots__}


class CardLedger:
    def __init__(
        self,
        engine: Engine,
        *,
        buffer_size: int = 100_000,
        batch_size: int = 500,
        retry_min: float = 0.5,
        retry_max: float = 30.0,
        write_interval: float = 0.0,
        stuck_after: float = 60.0,
        on_quarantine: Callable[[str, int], None] | None = None,
    ) -> None:
        self._engine = engine
        self._stuck_after = stuck_after
        self._on_quarantine = on_quarantine
        # Monotonic time since which entries have waited without a write; None: none wait.
        self._waiting_since: float | None = None
        self._failures = 0
        self.quarantined = 0
        self._write_interval = write_interval
        self._flush_requested = False
        self._buffer_size = buffer_size
        self._batch_size = batch_size
        self._retry_min = retry_min
        self._retry_max = retry_max
        self._buffer: deque[LedgerEntry] = deque()
        self._in_flight = 0
        self._cond = threading.Condition()
        self._stopping = False
        self._abandon = False
        self._thread: threading.Thread | None = None
        self._failing = False
        self.written = 0
        self.dropped = 0

    # --- producer side (request handlers) -----------------------------------------

    def record(self, entries: Iterable[LedgerEntry]) -> None:
        """Queue entries for writing. Never blocks on the database, never raises."""
        with self._cond:
            if not self._buffer and not self._in_flight:
                self._waiting_since = time.monotonic()
            for entry in entries:
                if len(self._buffer) + self._in_flight >= self._buffer_size:
                    self.dropped += 1
                    if self.dropped == 1 or self.dropped % 1000 == 0:
                        log.error(
                            "card ledger buffer full: entries dropped",
                            extra={"dropped_total": self.dropped, "limit": self._buffer_size},
                        )
                    continue
                self._buffer.append(entry)
            # Wake the writer only when there is news for it: the first entry, or a full
            # batch (each wake-up costs the request thread interpreter time).
            if len(self._buffer) == 1 or len(self._buffer) >= self._batch_size:
                self._cond.notify_all()

    @property
    def pending(self) -> int:
        """Entries recorded but not yet committed."""
        with self._cond:
            return len(self._buffer) + self._in_flight

    def status(self) -> LedgerStatus:
        """Whether the writer keeps up: stuck when entries waited `stuck_after` seconds
        without a write (an unreachable database, a writer that died)."""
        with self._cond:
            pending = len(self._buffer) + self._in_flight
            since = self._waiting_since if pending else None
            waiting = time.monotonic() - since if since is not None else 0.0
            return LedgerStatus(
                pending=pending,
                waiting_seconds=waiting,
                consecutive_failures=self._failures,
                quarantined=self.quarantined,
                dropped=self.dropped,
                stuck=waiting > self._stuck_after,
            )

    # --- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="card-ledger", daemon=True)
            self._thread.start()

    def flush(self, timeout: float) -> bool:
        """Wait until everything recorded so far is committed; False on timeout."""
        with self._cond:
            self._flush_requested = True
            self._cond.notify_all()
            return self._cond.wait_for(
                lambda: not self._buffer and not self._in_flight, timeout=timeout
            )

    def close(self, timeout: float) -> int:
        """Stop the writer after a last flush; returns (and logs) the entries not written."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
        else:
            self._drain_once()  # never started: one synchronous attempt
        with self._cond:
            self._abandon = True  # a writer still retrying gives up at its next step
            self._cond.notify_all()
            lost = len(self._buffer) + self._in_flight
        if lost:
            log.error("card ledger entries not written at shutdown", extra={"lost": lost})
        return lost

    # --- writer thread -----------------------------------------------------------------

    def _take_batch(self) -> list[LedgerEntry]:
        batch = [self._buffer.popleft() for _ in range(min(self._batch_size, len(self._buffer)))]
        self._in_flight = len(batch)
        return batch

    def _run(self) -> None:
        delay = self._retry_min
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._buffer) or self._stopping)
                if self._write_interval > 0:
                    self._cond.wait_for(self._batch_ready, timeout=self._write_interval)
                if not self._buffer or self._abandon:
                    return
                batch = self._take_batch()
            if self._write(batch):
                delay = self._retry_min
                continue
            with self._cond:  # wait, then retry until close() gives up
                if self._abandon:
                    return
                self._cond.wait(timeout=delay)
            delay = min(delay * 2, self._retry_max)

    def _batch_ready(self) -> bool:
        return len(self._buffer) >= self._batch_size or self._stopping or self._flush_requested

    def _drain_once(self) -> None:
        while True:
            with self._cond:
                if not self._buffer:
                    return
                batch = self._take_batch()
            if not self._write(batch):
                return

    def _insert(self, batch: list[LedgerEntry]) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                insert_ignore(connection, card_ledger, ["card_uuid"]),
                [entry.row() for entry in batch],
            )

    def _write_isolating(self, batch: list[LedgerEntry]) -> tuple[int, list[LedgerEntry]]:
        """Write the batch, splitting it around entries refused for a data reason (those
        are quarantined). Returns (entries written, entries left to retry: empty unless
        the database failed for another reason on the way)."""
        parts = [batch]
        written = 0
        while parts:
            part = parts.pop()
            try:
                self._insert(part)
            except SQLAlchemyError as exc:
                reason = data_reason(exc)
                if reason is None:
                    left = [entry for rest in [part, *reversed(parts)] for entry in rest]
                    self._note_failure(exc, len(left))
                    return written, left
                if len(part) == 1:
                    self._quarantine(reason, exc)
                    continue
                middle = len(part) // 2
                parts += [part[middle:], part[:middle]]  # the first half is written first
                continue
            written += len(part)
        return written, []

    def _quarantine(self, reason: str, exc: SQLAlchemyError) -> None:
        with self._cond:
            self.quarantined += 1
            total = self.quarantined
        # The reason code and counts only: the entry's values and the driver's message
        # (which may quote them) are never logged.
        log.error(
            "card ledger entry quarantined: the database refused its values",
            extra={
                "reason": reason,
                "sqlstate": getattr(getattr(exc, "orig", None), "sqlstate", None),
                "quarantined_total": total,
            },
        )
        if self._on_quarantine is not None:
            self._on_quarantine(reason, 1)

    def _note_failure(self, exc: SQLAlchemyError, pending: int) -> None:
        self._failures += 1
        if not self._failing:
            log.warning(
                "card ledger write failed; retrying",
                extra={"error_type": type(exc).__name__, "pending": pending},
            )
        self._failing = True

    def _write(self, batch: list[LedgerEntry]) -> bool:
        written, left = self._write_isolating(batch)
        with self._cond:
            self._in_flight = 0
            self.written += written
            if not self._buffer and not left:
                self._waiting_since = None
            elif len(left) < len(batch):  # progress: what still waits has waited since now
                self._waiting_since = time.monotonic()
            if left:
                self._buffer.extendleft(reversed(left))  # back to the front, in order
                return False
            if not self._buffer:
                self._flush_requested = False
            self._cond.notify_all()
        self._failures = 0
        if self._failing:
            log.info("card ledger write resumed", extra={"written_total": self.written})
            self._failing = False
        return True
