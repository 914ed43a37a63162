"""Structured, PHI-free logs: JSON in production, readable in development.

Only whitelisted fields are ever written (service, hookInstance, status, timings,
card topics, counts, reason codes); request bodies, tokens and patient data never
are. A patient appears only as `patient_hash` (a keyed HMAC); a hookInstance only
when it has the shape of a UUID (which cannot hold a name). Exceptions are written
as their type and stack, never their message (a validation error's message quotes
its input). One line per HTTP request, never with its query string: a hook call's
is `hook call`, written by the hook route itself (`log_hook_call`: it knows the
service, the cards and the patient hash); every other request's is `http request`,
written by `ops.middleware.OpsMiddleware`. uvicorn's own access log is off
(`uvicorn_log_config`), and httpx's request lines (URLs with patient ids) are
silenced below WARNING by `configure_logging`.

Patient hashes: `patient_hash(patient_id, key)` is HMAC-SHA256 with a secret key
(`Settings.patient_hash_secret()`), as lowercase hex. Keyed, so nobody without the
key can recompute it from a guessed id (a plain hash of an MRN-like id is easily
reversed by trying every id); stable for a given key, so log lines and ledger rows
of one patient can be joined. Rotating the key breaks that join: keep it the same
across restarts and replicas.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import sys
import time
import traceback
from types import TracebackType
from typing import Any

import orjson
from starlette.routing import Match
from starlette.types import Scope

from cds_service.hook_instance import canonical_hook_instance

__all__ = [
    "HOOK_ROUTE",
    "ConsoleFormatter",
    "JsonFormatter",
    "PatientHasher",
    "configure_logging",
    "log_hook_call",
    "patient_hash",
    "safe_hook_instance",
    "uvicorn_log_config",
    "uvicorn_options",
]

log = logging.getLogger("ms_cds.request")
access_log = logging.getLogger("ms_cds.access")
# The hook route's template: its requests' lines are the route's own (`log_hook_call`).
HOOK_ROUTE = "/cds-services/{service_id}"

# LogRecord attributes that are not "extra" fields.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}
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
        "formatters": {"ms_cds": {"()": f"cds_service.ops.logs.{name}"}},
        "filters": {"no_query": {"()": "cds_service.ops.logs.NoQueryString"}},
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
    """The hookInstance when it is a UUID (as the spec says it is; canonical form), else a
    placeholder: the same value the card ledger stores."""
    return canonical_hook_instance(value)


class PatientHasher:
    """`patient_hash` under one key, the key's HMAC state computed once (a copy of it per
    id); it holds the key, as the settings do, and nothing of any patient."""

    __slots__ = ("_keyed",)

    def __init__(self, key: bytes | str) -> None:
        key_bytes = key.encode("utf-8") if isinstance(key, str) else key
        if not key_bytes:
            raise ValueError("the patient hash key must not be empty")
        self._keyed = hmac.new(key_bytes, digestmod=hashlib.sha256)

    def __call__(self, patient_id: str) -> str:
        keyed = self._keyed.copy()
        keyed.update(patient_id.encode("utf-8"))
        return keyed.hexdigest()


def patient_hash(patient_id: str, key: bytes | str) -> str:
    """HMAC-SHA256 of the patient id under `key`, as 64 hex characters."""
    return PatientHasher(key)(patient_id)


def log_hook_call(
    *,
    service: str,
    hook_instance: object,
    status: int,
    started: float,
    patient: str | None = None,
    cards: list[str | None] | None = None,
    skipped: int | None = None,
    auth_rejection: str | None = None,
) -> None:
    """The one line of a hook call (`hook call`). `patient` is a `patient_hash`, never
    an id; `started` is the call's `time.perf_counter()` at its start."""
    duration_ms = round((time.perf_counter() - started) * 1000, 2)
    if not log.isEnabledFor(logging.INFO):
        return
    fields: dict[str, Any] = {"service": service, "hookInstance": safe_hook_instance(hook_instance)}
    if patient is not None:
        fields["patient"] = patient
    if cards is not None:
        fields["cards"] = [c for c in cards if c]
    if skipped is not None:
        fields["skipped_elements"] = skipped
    fields.update(
        method="POST",
        route=HOOK_ROUTE,
        status=status,
        duration_ms=duration_ms,
    )
    if auth_rejection:
        fields["auth_rejection"] = auth_rejection
    # The record made here, not by `log.info`: that walks the stack first for the
    # caller's file and line, which no formatter of this module writes.
    record = log.makeRecord(
        log.name, logging.INFO, "(unknown file)", 0, "hook call", (), None, extra=fields
    )
    log.handle(record)


def route_template(scope: Scope) -> str:
    """The route template the router matched; for a request answered before routing (a
    CORS preflight, by the CORS middleware) the template whose path matches, any method."""
    route = getattr(scope.get("route"), "path", None)
    if isinstance(route, str):
        return route
    router = getattr(scope.get("app"), "router", None)
    return _template_in(getattr(router, "routes", ()), scope) or "unmatched"


def _template_in(routes: Any, scope: Scope) -> str | None:
    for candidate in routes:
        # FastAPI wraps an included router; its own routes carry the templates.
        inner = getattr(candidate, "original_router", None)
        if inner is not None:
            if (found := _template_in(getattr(inner, "routes", ()), scope)) is not None:
                return found
            continue
        path = getattr(candidate, "path", None)
        if isinstance(path, str) and candidate.matches(scope)[0] is not Match.NONE:
            return path
    return None
