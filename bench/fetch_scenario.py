"""Fetch scenario: 5 missing prefetch keys against a FHIR stub that answers after 100 ms.

Runs the real code path (resolve_prefetch -> host guard -> shared pooled client ->
parallel fetch) against a local stub on 127.0.0.1 (random port), in development
mode (http and loopback allowed). Target: 5 keys in <= 1.5x one call's latency
(fetching one after another would take about 5x).

    python -m bench.fetch_scenario
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from cds_hooks import HookRequest, ServiceDefinition, parse_request
from cds_service.catalogue import PREFETCH, SERVICES
from cds_service.config import Settings
from cds_service.fetch import new_client, resolve_prefetch

__all__ = ["run"]

DELAY = 0.100
ROUNDS = 7
TARGET_RATIO = 1.5
PATIENT_ID = "bench-1"
FIVE_MISSING = ["patient", "conditions", "medicationRequests", "observations", "procedures"]


_HANDLERS: set[asyncio.Task[Any]] = set()


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A minimal HTTP/1.1 keep-alive FHIR stub: every GET answered after DELAY."""
    task = asyncio.current_task()
    if task is not None:
        _HANDLERS.add(task)
        task.add_done_callback(_HANDLERS.discard)
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ", 2)[1].decode()
            await asyncio.sleep(DELAY)
            if "/Patient/" in path:
                resource: dict[str, Any] = {"resourceType": "Patient", "id": PATIENT_ID}
            else:
                resource = {"resourceType": "Bundle", "type": "searchset", "entry": []}
            body = json.dumps(resource).encode()
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/fhir+json\r\n"
                + f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n".encode()
                + body
            )
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


def _request(base: str, missing: list[str]) -> dict[str, Any]:
    empty = {"resourceType": "Bundle", "type": "searchset", "entry": []}
    return {
        "hook": "patient-view",
        "hookInstance": "bench",
        "fhirServer": base,
        "context": {"userId": "Practitioner/p1", "patientId": PATIENT_ID},
        "prefetch": {k: empty for k in PREFETCH if k not in missing},
    }


Timed = Callable[[HookRequest], Awaitable[float]]


def _timed(client: httpx.AsyncClient, service: ServiceDefinition, settings: Settings) -> Timed:
    async def timed(request: HookRequest) -> float:
        started = time.perf_counter()
        record = await resolve_prefetch(request, service, PATIENT_ID, None, settings, client)
        if record.missing:
            raise RuntimeError(f"bench fetch failed: {dict(record.missing)}")
        return (time.perf_counter() - started) * 1000

    return timed


async def _measure(
    timed: Timed, one: HookRequest, five: HookRequest, timings: dict[str, list[float]]
) -> None:
    await timed(five)  # warm-up: open the pooled connections
    for _ in range(ROUNDS):
        timings["one"].append(await timed(one))
        timings["five"].append(await timed(five))


async def _scenario() -> dict[str, Any]:
    server = await asyncio.start_server(_handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    base = f"http://127.0.0.1:{port}/fhir"
    settings = Settings(_env_file=None, dev=True)
    service = SERVICES["ms-patient-view"]
    one, five = (
        parse_request(_request(base, ["patient"])),
        parse_request(_request(base, FIVE_MISSING)),
    )
    timings: dict[str, list[float]] = {"one": [], "five": []}
    async with server:
        async with new_client(settings) as client:
            await _measure(_timed(client, service, settings), one, five, timings)
        if _HANDLERS:  # the client closed its connections: let the stub's handlers end
            await asyncio.wait(set(_HANDLERS), timeout=2)
    one_ms, five_ms = statistics.median(timings["one"]), statistics.median(timings["five"])
    ratio = five_ms / one_ms
    return {
        "scenario": "fetch 5 missing prefetch keys, stub answering after 100 ms",
        "one_key_ms": round(one_ms, 1),
        "five_keys_ms": round(five_ms, 1),
        "ratio": round(ratio, 2),
        "target_ratio": TARGET_RATIO,
        "ok": ratio <= TARGET_RATIO,
    }


def run() -> dict[str, Any]:
    """Run the scenario; medians over a few rounds after a warm-up."""
    return asyncio.run(_scenario())


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
