"""In-process cost of one hook call: decode -> envelope -> facts -> rules -> cards -> encode.

The body is decoded as the HTTP route does it (`decode_hook_body`: depth checks, the
prefetch values decoded only when read).

No HTTP, no load generator: the time the service itself spends per request,
per size, with the facts cache off (every request is a distinct patient).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from datetime import date
from typing import Any

from cds_service.jsonio import encode_json
from cds_service.limits import decode_hook_body
from cds_service.pipeline import run_service
from cds_service.protocol import parse_request
from cds_service.services import SERVICES
from cds_service.settings import Settings

__all__ = ["InProcessResult", "call_once", "measure"]

TODAY = date(2026, 11, 25)


@dataclass(frozen=True)
class InProcessResult:
    size: str
    requests: int
    resources_per_request: float
    us_per_request: float
    us_per_resource: float
    msc_orders: int
    msc_warnings: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "resources_per_request": round(self.resources_per_request, 1),
            "us_per_request": round(self.us_per_request, 1),
            "us_per_resource": round(self.us_per_resource, 2),
            "msc_orders": self.msc_orders,
            "msc_warnings": self.msc_warnings,
        }


async def call_once(service_id: str, body: bytes, settings: Settings) -> dict[str, Any]:
    """The service's work for one request body, as the HTTP route does it."""
    request = parse_request(
        decode_hook_body(body, settings.max_json_depth, settings.max_element_depth)
    )
    response, _ = await run_service(SERVICES[service_id], request, settings, TODAY, None)
    return json.loads(encode_json(response))


def measure(
    size: str, requests: list[tuple[str, bytes, int, bool]], settings: Settings
) -> InProcessResult:
    """Time each (service, body, resources, msc) once; count MSC orders and warnings."""

    async def run() -> tuple[float, int]:
        warnings = 0
        elapsed = 0.0
        for service_id, body, _, _ in requests:
            started = time.perf_counter()
            response = await call_once(service_id, body, settings)
            elapsed += time.perf_counter() - started
            topics = [c["source"]["topic"]["code"] for c in response["cards"]]
            warnings += topics.count("mscWarning")
        return elapsed, warnings

    elapsed, warnings = asyncio.run(run())
    n = len(requests)
    resources = sum(r[2] for r in requests)
    return InProcessResult(
        size=size,
        requests=n,
        resources_per_request=resources / n,
        us_per_request=elapsed / n * 1e6,
        us_per_resource=elapsed / resources * 1e6,
        msc_orders=sum(1 for r in requests if r[3]),
        msc_warnings=warnings,
    )
