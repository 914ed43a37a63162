"""Client authentication of one request: the bearer JWT checked by the app's verifier.

`authenticate` is what the routes an EHR calls (hook calls, feedback) run first:
the verified client, None in development mode, else a bare 401 (`Unauthorized`,
carrying the reason code for the request's log line) or a 503 when the shared
replay cache cannot be reached. A refusal is logged as "client rejected" with its
reason code and counted in `cds_jwt_rejections_total`; the token never is.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Request

from cds_service.auth.replay import ReplayCacheUnavailable
from cds_service.auth.verify import AuthFailure, ClientIdentity, ClientVerifier, Reason
from cds_service.config.settings import Settings
from cds_service.errors import ServiceUnavailable, Unauthorized
from cds_service.ops.metrics import count_jwt_rejection

__all__ = ["audiences_for", "authenticate"]

log = logging.getLogger("ms_cds.auth")


def _bearer_token(header: str | None) -> str:
    if not header:
        raise AuthFailure(Reason.MISSING_TOKEN)
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthFailure(Reason.MISSING_TOKEN)
    return token.strip()


def audiences_for(request: Request, settings: Settings) -> list[str]:
    """The `aud` values accepted on this call: the called path (and, for feedback, its
    service's path) under `CDS_PUBLIC_BASE_URL`, plus `CDS_AUDIENCE`. Never the Host or
    X-Forwarded-* headers: the caller controls them (production refuses to start without
    one of the two settings)."""
    accepted: list[str] = []
    if settings.public_base_url:
        path = request.url.path
        root = request.scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        called = (settings.public_base_url.rstrip("/") + path).rstrip("/")
        accepted += [called, called + "/"]
        if called.endswith("/feedback"):
            accepted.append(called.removesuffix("/feedback"))
    return accepted + list(settings.audience)


async def authenticate(
    request: Request, settings: Settings, verifier: ClientVerifier | None
) -> ClientIdentity | None:
    """The verified client, None in development, else Unauthorized (bare 401)."""
    if settings.dev:
        return None
    try:
        if verifier is None:
            raise AuthFailure(Reason.NOT_READY)
        token = _bearer_token(request.headers.get("authorization"))
        return await verifier.verify(token, audiences_for(request, settings))
    except AuthFailure as exc:
        count_jwt_rejection(exc.reason.value)
        # The route template, never the raw path (a path segment may carry an identifier).
        route = getattr(request.scope.get("route"), "path", "unmatched")
        extra: dict[str, Any] = {"reason": exc.reason.value, "route": route}
        if exc.detail:
            extra["detail"] = exc.detail
        log.warning("client rejected", extra=extra)
        raise Unauthorized("client authentication failed", reason=exc.reason.value) from None
    except ReplayCacheUnavailable as exc:
        log.error("jti replay cache unavailable", extra={"error_type": str(exc)})
        raise ServiceUnavailable("client authentication is unavailable") from None
