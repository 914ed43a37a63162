"""The exception tree of the HTTP edge, and the one place exceptions become responses.

    CDSError
     ├── BadRequest               400  invalid  (malformed JSON, too deep, wrong hook)
     ├── Unauthorized             401  bare body, per the spec's best practice
     ├── Forbidden                403  forbidden (feedback on another client's card)
     ├── NotFound                 404  not-found (unknown service or route)
     ├── PrefetchUnavailable      412  incomplete (required data could not be had)
     │    └── ServerRefused       412  security (fetch.guard: fhirServer refused, nothing sent)
     ├── PayloadTooLarge          413  too-costly
     ├── UnsupportedMediaType     415  not-supported
     ├── TooManyRequests          429  throttled  (a client's quota; with Retry-After)
     └── ServiceUnavailable       503  transient (e.g. the database is down)

The wire format's own errors (`cds_hooks.WireError`: InvalidInput 400, TooManyItems
413) are answered here too, as are FastAPI's and Starlette's. Anything else is a bug:
500, logged by type and route only. A configuration that must not serve is not an
HTTP answer: it refuses start-up (`cds_service.config.ConfigurationError`).

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

from cds_hooks import TooManyItems, WireError, describe_error

__all__ = [
    "BadRequest",
    "CDSError",
    "Forbidden",
    "NotFound",
    "PayloadTooLarge",
    "PrefetchUnavailable",
    "ServiceUnavailable",
    "TooManyRequests",
    "Unauthorized",
    "UnsupportedMediaType",
    "as_cds_error",
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

    def __init__(self, *diagnostics: str, reason: str | None = None) -> None:
        super().__init__(*diagnostics)
        self.reason = reason  # a client-authentication reason code, for the log line


class Forbidden(CDSError):
    status = 403
    issue_code = "forbidden"


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


def as_cds_error(exc: CDSError | WireError) -> CDSError:
    """The edge's error for a wire-format error (InvalidInput 400, TooManyItems 413)."""
    if isinstance(exc, CDSError):
        return exc
    kind = PayloadTooLarge if isinstance(exc, TooManyItems) else BadRequest
    return kind(*exc.diagnostics, expressions=exc.expressions)


def error_response(exc: CDSError | WireError) -> Response:
    """The HTTP response for an edge or wire-format error (also what ASGI middleware and
    the hook route answer with, outside the handlers)."""
    exc = as_cds_error(exc)
    if isinstance(exc, Unauthorized):
        return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})
    headers = {"Retry-After": "5"} if isinstance(exc, ServiceUnavailable) else None
    if isinstance(exc, TooManyRequests):
        headers = {"Retry-After": str(exc.retry_after)}
    return _outcome_response(exc.status, exc.issue_code, exc.diagnostics, exc.expressions, headers)


async def _cds_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CDSError | WireError)  # noqa: S101 (registered for these only)
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


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(CDSError, _cds_error)
    app.add_exception_handler(WireError, _cds_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
