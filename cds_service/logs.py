"""Structured, PHI-free logs: JSON in production, readable in development.

Only whitelisted fields are ever written (service, hookInstance, status,
timings, card topics, counts); request bodies, tokens and patient data never are.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

__all__ = ["configure_logging", "request_log"]

log = logging.getLogger("ms_cds.request")

# LogRecord attributes that are not "extra" fields.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
            **_extras(record),
        }
        return json.dumps(entry, default=str)


class ConsoleFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(f"{k}={v}" for k, v in _extras(record).items())
        return f"{record.levelname:<7} {record.name}: {record.getMessage()} {fields}".rstrip()


def configure_logging(log_format: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else ConsoleFormatter())
    root = logging.getLogger("ms_cds")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False


def request_log(
    *,
    service: str,
    hook_instance: str,
    status: int,
    started: float,
    cards: list[str | None],
    skipped: int,
) -> None:
    log.info(
        "hook call",
        extra={
            "service": service,
            "hookInstance": hook_instance[:64],
            "status": status,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            "cards": [c for c in cards if c],
            "skipped_elements": skipped,
        },
    )
