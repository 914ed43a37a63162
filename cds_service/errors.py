"""The exception tree, and the one place exceptions become HTTP responses.

    CDSError
     ├── BadRequest               400  invalid  (malformed JSON, bad envelope, wrong hook)
     ├── Unauthorized             401  bare body, per the spec's best practice
     ├── NotFound                 404  not-found (unknown service or route)
     ├── PrefetchUnavailable      412  incomplete (required data could not be had)
     │    └── ServerRefused       412  security (fhir_guard: fhirServer refused, nothing sent)
     ├── PayloadTooLarge          413  too-costly
     ├── UnsupportedMediaType     415  not-supported
     ├── TooManyRequests          429  throttled  (a client's quota; with Retry-After)
     ├── ServiceUnavailable       503  transient (e.g. the database is down)
     └── ConfigurationError            never an HTTP response: refuses start-up

Every error body is a FHIR OperationOutcome. Messages name fields and reasons,
never values (values can be PHI).
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

__all__ = [
    "BadRequest",
    "CDSError",
    "ConfigurationError",
    "NotFound",
    "PayloadTooLarge",
    "PrefetchUnavailable",
    "ServiceUnavailable",
    "TooManyRequests",
    "Unauthorized",
    "UnsupportedMediaType",
    "error_response",
    "install_error_handlers",
    "operation_outcome",
]

log = logging.getLogger("ms_cds.errors")
FHIR_JSON = "application/fhir+json"


class CDSError(Exception):
    status: ClassVar[int] = 500
    issue_code: ClassVar[str] = "exception"

    def __init__(self, *diagnostics: str, expressions: list[str] | None = None) -> None:
        super().__init__("; ".join(diagnostics))
        self.diagnostics = list(diagnostics) or [self.__class__.__name__]
        self.expressions = expressions


class BadRequest(CDSError):
    status, issue_code = 400, "invalid"


class Unauthorized(CDSError):
    status, issue_code = 401, "login"


class NotFound(CDSError):
    status, issue_code = 404, "not-found"


class PrefetchUnavailable(CDSError):
    status, issue_code = 412, "incomplete"


class PayloadTooLarge(CDSError):
    status, issue_code = 413, "too-costly"


class UnsupportedMediaType(CDSError):
    status, issue_code = 415, "not-supported"


class TooManyRequests(CDSError):
    status, issue_code = 429, "throttled"

    def __init__(self, *diagnostics: str, retry_after: int) -> None:
        super().__init__(*diagnostics)
        self.retry_after = retry_after


class ServiceUnavailable(CDSError):
    status, issue_code = 503, "transient"


class ConfigurationError(CDSError):
    """The settings are unsafe or incomplete: the service refuses to start."""


def operation_outcome(
    code: str, diagnostics: list[str], expressions: list[str] | None = None
) -> dict[str, Any]:
    issues = []
    for text in diagnostics:
        issue: dict[str, Any] = {"severity": "error", "code": code, "diagnostics": text}
        if expressions:
            issue["expression"] = expressions
        issues.append(issue)
    return {"resourceType": "OperationOutcome", "issue": issues}


def _outcome_response(
    status: int,
    code: str,
    diagnostics: list[str],
    expressions: list[str] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        operation_outcome(code, diagnostics, expressions),
        status_code=status,
        media_type=FHIR_JSON,
        headers=headers,
    )


def error_response(exc: CDSError) -> Response:
    """The HTTP response for a CDSError (also used by ASGI middleware, outside the handlers)."""
    if isinstance(exc, Unauthorized):
        return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})
    headers = {"Retry-After": "5"} if isinstance(exc, ServiceUnavailable) else None
    if isinstance(exc, TooManyRequests):
        headers = {"Retry-After": str(exc.retry_after)}
    return _outcome_response(exc.status, exc.issue_code, exc.diagnostics, exc.expressions, headers)


async def _cds_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CDSError)  # noqa: S101 (registered for CDSError only)
    return error_response(exc)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)  # noqa: S101
    diagnostics = [describe_error(e) for e in exc.errors()][:20]
    return _outcome_response(400, "invalid", diagnostics or ["invalid request"])


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101
    codes = {404: "not-found", 405: "not-supported", 401: "login"}
    return _outcome_response(
        exc.status_code,
        codes.get(exc.status_code, "processing"),
        [str(exc.detail)],
        headers=getattr(exc, "headers", None),
    )


async def _unexpected(request: Request, exc: Exception) -> Response:
    # A bug: log where (type and route), not the message, which may quote PHI.
    log.error(
        "unhandled error",
        extra={
            "error_type": type(exc).__name__,
            "route": getattr(request.scope.get("route"), "path", "unmatched"),
        },
        exc_info=False,
    )
    return _outcome_response(500, "exception", ["internal error"])


def describe_error(error: Any) -> str:
    """'context.patientId: Field required' from a pydantic error, without its input value."""
    loc = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
    return f"{loc}: {error.get('msg', 'invalid')}" if loc else str(error.get("msg", "invalid"))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(CDSError, _cds_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
