"""How `ms-cds serve` runs uvicorn: workers, metrics directory, logs, graceful shutdown,
and a deadline on reading each request (`cds_service.read_deadline`).

On SIGTERM uvicorn stops accepting connections, lets in-flight requests finish
(up to `CDS_GRACEFUL_SHUTDOWN_SECONDS`), then runs the lifespan shutdown (where
the card ledger flushes) and exits 0.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from cds_service.config import Settings

__all__ = ["APP", "READ_DEADLINE_PROTOCOL", "prepare_multiprocess_metrics", "uvicorn_options"]

APP = "cds_service.asgi:app"
READ_DEADLINE_PROTOCOL = "cds_service.read_deadline:ReadDeadlineProtocol"
WORKER_HEALTHCHECK_SECONDS = 30


def prepare_multiprocess_metrics(workers: int) -> str | None:
    """With several workers, point prometheus-client at a shared directory (a fresh
    temporary one unless PROMETHEUS_MULTIPROC_DIR is set) and clear stale values."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if workers <= 1 and not directory:
        return None
    if not directory:
        directory = tempfile.mkdtemp(prefix="ms-cds-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):  # values of a previous run must not add up
        stale.unlink()
    return directory


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for uvicorn.run from the effective settings (logging as
    `cds_service.ops.logs` configures it: the service's format, no uvicorn access log)."""
    # Imported here, not above: importing ops creates the metrics, whose multiprocess
    # files need the directory `prepare_multiprocess_metrics` makes first.
    from cds_service.ops.logs import uvicorn_options as log_options
    from cds_service.read_deadline import READ_TIMEOUT_ENV

    # Each worker process's protocol reads its deadline from the environment.
    os.environ[READ_TIMEOUT_ENV] = str(settings.request_read_timeout_seconds)
    return {
        # An import string, not the class: a worker process unpickles its config before it
        # answers the supervisor's health check, and must not import much first.
        "http": READ_DEADLINE_PROTOCOL,
        # No WebSocket route: an upgrade request is answered as plain HTTP, and the
        # websockets library is not imported at start-up.
        "ws": "none",
        "host": settings.host,
        "port": settings.port,
        "workers": settings.workers,
        "timeout_graceful_shutdown": settings.graceful_shutdown_seconds,
        # uvicorn kills a worker that does not answer its supervisor within this (default
        # 5 s); a worker still importing and warming up on a busy host was killed in a loop.
        "timeout_worker_healthcheck": WORKER_HEALTHCHECK_SECONDS,
        "log_level": settings.log_level.lower(),
        **log_options(settings.effective_log_format, settings.log_level),
    }
