"""One pure ASGI middleware for what operations need of every HTTP request.

- the in-flight count (`StartUpHeap.in_flight`, ops/heap.py): every HTTP request,
  whatever route or answer, an exception too;
- hook call metrics: each POST /cds-services/{id} counted and timed by service, hook
  and final status (a 413 or 401 too, any status a layer below answers; 500 when an
  exception escaped before a response started);
- the access log: one `http request` line (method, route template, status, duration)
  for every request other than a hook call, whose route writes its own line.

One layer instead of three: each layer of the stack costs every request a call and a
wrapped `send`.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cds_service.ops.heap import StartUpHeap
from cds_service.ops.logs import access_log, route_template
from cds_service.ops.metrics import observe_hook_call

__all__ = ["OpsMiddleware"]

_PREFIX = "/cds-services/"


def _hook_service(scope: Scope) -> str | None:
    """The {id} of a POST /cds-services/{id} (as sent: labels bound it), else None."""
    if scope.get("method") != "POST":
        return None
    path: str = scope.get("path", "")
    if not path.startswith(_PREFIX):
        return None
    rest = path[len(_PREFIX) :]
    return rest if rest and "/" not in rest else None


class OpsMiddleware:
    """In-flight count, hook call metrics and the access log (see module)."""

    def __init__(self, app: ASGIApp, heap: StartUpHeap) -> None:
        self.app = app
        self.heap = heap

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        hook_service = _hook_service(scope)
        status = 500  # unless a response starts: an exception escaped

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        heap = self.heap
        heap.started()
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_and_note)
        finally:
            heap.ended()
            elapsed = time.perf_counter() - started
            if hook_service is not None:
                # A hook call: its route writes its own log line (ops.logs.log_hook_call).
                observe_hook_call(hook_service, status, elapsed)
            else:
                _log_request(scope, status, elapsed)


def _log_request(scope: Scope, status: int, elapsed: float) -> None:
    # The template (/cds-services/{service_id}), never the raw path or query; Starlette's
    # router names the route it matched.
    route = route_template(scope)
    access_log.info(
        "http request",
        extra={
            "method": scope.get("method", ""),
            "route": route,
            "status": status,
            "duration_ms": round(elapsed * 1000, 2),
        },
    )
