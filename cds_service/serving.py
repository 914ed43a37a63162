"""How `ms-cds serve` runs uvicorn: workers, metrics directory, logs, graceful shutdown.

On SIGTERM uvicorn stops accepting connections, lets in-flight requests finish
(up to `CDS_GRACEFUL_SHUTDOWN_SECONDS`), then runs the lifespan shutdown (where
the card ledger flushes) and exits 0.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from cds_service.settings import Settings

__all__ = ["prepare_multiprocess_metrics", "uvicorn_log_config", "uvicorn_options"]

APP = "cds_service.asgi:app"


class _PlainMessage(logging.Filter):
    """uvicorn attaches an ANSI-coloured copy of some messages: not for JSON logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.__dict__.pop("color_message", None)
        return True


def uvicorn_log_config(log_format: str, level: str) -> dict[str, Any]:
    """uvicorn's own log lines in the service's format (JSON or console)."""
    formatter = "JsonFormatter" if log_format == "json" else "ConsoleFormatter"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"plain": {"()": f"{__name__}._PlainMessage"}},
        "formatters": {"service": {"()": f"cds_service.logs.{formatter}"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "service",
                "filters": ["plain"],
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
        },
    }


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
    """Keyword arguments for uvicorn.run from the effective settings."""
    return {
        "host": settings.host,
        "port": settings.port,
        "workers": settings.workers,
        "timeout_graceful_shutdown": settings.graceful_shutdown_seconds,
        "log_config": uvicorn_log_config(settings.effective_log_format, settings.log_level),
        "log_level": settings.log_level.lower(),
        # Hook calls are logged by the service itself (PHI-free); probes would flood
        # an access log.
        "access_log": False,
        "server_header": False,
    }
