"""Structured, PHI-free logs: JSON in production, readable in development.

Only whitelisted fields are ever written (service, hookInstance, status, timings,
card topics, counts, reason codes); request bodies, tokens and patient data never
are. A patient appears only as `privacy.patient_hash`; a hookInstance only when it
has the shape of a UUID (which cannot hold a name). Exceptions are written as their
type and stack, never their message (a validation error's message quotes its
input). The access log is this module's: method, route template, status, time,
never the query string; uvicorn's own access log is off (`uvicorn_log_config`), and
httpx's request lines (URLs with patient ids) are silenced below WARNING.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import traceback
from types import TracebackType
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "AccessLogMiddleware",
    "ConsoleFormatter",
    "JsonFormatter",
    "configure_logging",
    "note_hook_call",
    "safe_hook_instance",
    "uvicorn_log_config",
    "uvicorn_options",
]

log = logging.getLogger("ms_cds.request")
# Where a hook call leaves its fields for its request's log line (in the ASGI scope's state).
_HOOK_FIELDS = "hook_call_log"
access_log = logging.getLogger("ms_cds.access")

# LogRecord attributes that are not "extra" fields.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}
_UUID = re.compile(r"^(urn:uuid:)?[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
# Loggers of libraries that write URLs or payloads at INFO/DEBUG.
_QUIET = ("httpx", "httpcore", "hpack", "urllib3", "redis")

_ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD}


def _exception_without_message(exc_info: _ExcInfo) -> str:
    exc_type, _, tb = exc_info
    frames = "".join(traceback.format_tb(tb))
    return f"Traceback (most recent call last):\n{frames}{exc_type.__name__} (message withheld)"


class _SafeExceptions(logging.Formatter):
    def formatException(self, ei: Any) -> str:
        if not ei or ei[0] is None:
            return ""
        return _exception_without_message(ei)


class JsonFormatter(_SafeExceptions):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
            **_extras(record),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        try:
            return orjson.dumps(entry, default=str).decode()
        except (orjson.JSONEncodeError, TypeError):  # e.g. a lone surrogate: escaped instead
            return json.dumps(entry, default=str)


class ConsoleFormatter(_SafeExceptions):
    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(f"{k}={v}" for k, v in _extras(record).items())
        line = f"{record.levelname:<7} {record.name}: {record.getMessage()} {fields}".rstrip()
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class NoQueryString(logging.Filter):
    """On uvicorn's access logger: drop the query string from the request path, should
    that log ever be switched on (a token or a name in a query must not be written)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                a.split("?", 1)[0] if isinstance(a, str) and a.startswith("/") else a
                for a in record.args
            )
        return True


class ExceptionWithoutMessage(logging.Filter):
    """On loggers whose handlers are not ours (uvicorn.error, asyncio): the traceback text
    is set here, without the exception's message, so any formatter writes only that."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = _exception_without_message(record.exc_info)
        return True


def _add_filter(name: str, kind: type[logging.Filter]) -> None:
    logger = logging.getLogger(name)
    if not any(isinstance(f, kind) for f in logger.filters):
        logger.addFilter(kind())


def _guard_foreign_loggers() -> None:
    _add_filter("uvicorn.access", NoQueryString)
    for name in ("uvicorn.error", "asyncio"):
        _add_filter(name, ExceptionWithoutMessage)


def _formatter(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else ConsoleFormatter()


def configure_logging(log_format: str, level: str = "INFO") -> None:
    """The process's logging: called once by the entry point (`cds_service.asgi`)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_formatter(log_format))
    root = logging.getLogger("ms_cds")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    _guard_foreign_loggers()


def uvicorn_log_config(log_format: str, level: str = "INFO") -> dict[str, Any]:
    """uvicorn's `log_config`: its loggers through this module's formatters, its access
    log off (ours writes no query strings), chatty HTTP client loggers at WARNING."""
    name = "JsonFormatter" if log_format == "json" else "ConsoleFormatter"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"ms_cds": {"()": f"cds_service.logs.{name}"}},
        "filters": {"no_query": {"()": "cds_service.logs.NoQueryString"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "ms_cds",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": level.upper(), "propagate": False},
            "uvicorn.access": {
                "handlers": [],
                "filters": ["no_query"],
                "level": "WARNING",
                "propagate": False,
            },
            **{name: {"level": "WARNING"} for name in _QUIET},
        },
    }


def uvicorn_options(log_format: str, level: str = "INFO") -> dict[str, Any]:
    """Keyword arguments for uvicorn.run/Config: our log config, no access log (it would
    write query strings), no Server header."""
    return {
        "log_config": uvicorn_log_config(log_format, level),
        "access_log": False,
        "server_header": False,
    }


def safe_hook_instance(value: object) -> str:
    """The hookInstance when it is a UUID (as the spec says it is), else a placeholder."""
    if isinstance(value, str) and _UUID.match(value):
        return value
    return "not-a-uuid"


def note_hook_call(
    state: dict[str, Any],
    *,
    service: str,
    hook_instance: object,
    cards: list[str | None] | None = None,
    skipped: int | None = None,
    patient: str | None = None,
) -> None:
    """What a hook call adds to its request's log line (`AccessLogMiddleware` writes it, as
    `hook call`: one line per call, not two). `patient` is a `privacy.patient_hash`,
    never an id. `state` is the ASGI scope's state (`request.state` reads the same)."""
    fields: dict[str, Any] = {"service": service, "hookInstance": safe_hook_instance(hook_instance)}
    if patient is not None:
        fields["patient"] = patient
    if cards is not None:
        fields["cards"] = [c for c in cards if c]
    if skipped is not None:
        fields["skipped_elements"] = skipped
    state[_HOOK_FIELDS] = fields


class AccessLogMiddleware:
    """One line per HTTP request: method, route template, status, duration; a hook call's
    line is `hook call` and adds what the route noted (`note_hook_call`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            route = scope.get("route")
            state = scope.get("state", {})
            hook_fields = state.get(_HOOK_FIELDS)
            extra: dict[str, Any] = {
                "method": scope.get("method", ""),
                # The template (/cds-services/{service_id}), never the raw path or query.
                "route": getattr(route, "path", "unmatched"),
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            }
            rejection = state.get("auth_rejection")
            if rejection:
                extra["auth_rejection"] = rejection
            if hook_fields is None:
                access_log.info("http request", extra=extra)
            else:
                log.info("hook call", extra={**hook_fields, **extra})
