"""A deadline on reading each request (headers and body), which uvicorn does not have.

uvicorn times out only idle keep-alive connections: a connection that sends nothing, or
trickles its headers or body a byte at a time, stays open for ever (slowloris; see
docs/research/integration.md section 6). `ms-cds serve` runs uvicorn with the protocol
below instead (`http="cds_service.read_deadline:ReadDeadlineProtocol"`). Its deadline
starts when the connection opens, or with the first byte of each later request, and is
cancelled once the request has been read whole; when it passes first, the connection is
closed (a handler waiting for the rest of a body sees a disconnect). Time spent
answering is not counted.

ASGI middleware cannot do this: the app is called only once the headers are complete.
The seconds come from CDS_REQUEST_READ_TIMEOUT_SECONDS, which `ms-cds serve` exports
(validated) for every worker process it starts.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["READ_TIMEOUT_ENV", "ReadDeadlineProtocol", "read_timeout"]

log = logging.getLogger("ms_cds.request")

READ_TIMEOUT_ENV = "CDS_REQUEST_READ_TIMEOUT_SECONDS"
DEFAULT_READ_TIMEOUT = 20.0


def read_timeout() -> float:
    """The deadline in seconds (the environment as `ms-cds serve` exported it)."""
    try:
        value = float(os.environ.get(READ_TIMEOUT_ENV, DEFAULT_READ_TIMEOUT))
    except ValueError:
        return DEFAULT_READ_TIMEOUT
    return value if value > 0 else DEFAULT_READ_TIMEOUT


class _ReadDeadline:
    """The deadline logic, for either uvicorn HTTP protocol (both keep `cycle`, whose
    `more_body` turns False once the request has been read whole)."""

    transport: Any
    loop: Any
    cycle: Any

    def _deadline_init(self) -> None:
        self._read_seconds = read_timeout()
        self._read_timer: asyncio.TimerHandle | None = None
        self._cycle_at_arming: object = None

    def _arm_read_deadline(self) -> None:
        self._cycle_at_arming = self.cycle
        self._read_timer = self.loop.call_later(self._read_seconds, self._read_timed_out)

    def _cancel_read_deadline(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None

    def _before_data(self) -> None:
        # New bytes after the last request was read whole begin the next request.
        if self._read_timer is None and (self.cycle is None or not self.cycle.more_body):
            self._arm_read_deadline()

    def _after_data(self) -> None:
        cycle = self.cycle
        if (
            self._read_timer is not None
            and cycle is not None
            and cycle is not self._cycle_at_arming
            and not cycle.more_body
        ):
            self._cancel_read_deadline()

    def _read_timed_out(self) -> None:
        self._read_timer = None
        phase = "headers" if self.cycle is self._cycle_at_arming else "body"
        log.warning(
            "request read timed out: connection closed",
            extra={"phase": phase, "timeout_seconds": self._read_seconds},
        )
        self.transport.close()


def _protocol_base() -> type[asyncio.Protocol]:
    """uvicorn's own choice (`http="auto"`): httptools when installed, else h11."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # pragma: no cover - uvicorn[standard] installs httptools
        return H11Protocol
    return HttpToolsProtocol


_Base: Any = _protocol_base()


class ReadDeadlineProtocol(_ReadDeadline, _Base):  # type: ignore[misc]
    """uvicorn's HTTP protocol with a deadline on reading each request."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline_init()

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._arm_read_deadline()

    def data_received(self, data: bytes) -> None:
        self._before_data()
        super().data_received(data)
        self._after_data()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_read_deadline()
        super().connection_lost(exc)
