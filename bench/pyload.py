"""Fallback load generator (when wrk is not installed): httpx, asyncio, N connections.

Run as a separate process: `python -m bench.pyload URL BODIES [options]`. Prints
one `BENCH_JSON {...}` line with the same fields as bench/cycle.lua.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import httpx


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, round(q / 100 * (len(sorted_values) - 1)))
    return sorted_values[index]


async def _run(args: argparse.Namespace) -> dict[str, float]:
    with open(args.bodies, encoding="utf-8") as handle:
        requests = [line.rstrip("\n").split("\t", 1) for line in handle if line.strip()]
    latencies: list[float] = []
    errors = non_2xx = 0
    counter = 0
    per_worker = args.count // args.connections if args.count else 0
    interval = args.connections / args.rate if args.rate else 0.0
    started = time.perf_counter()
    deadline = started + args.duration
    limits = httpx.Limits(
        max_connections=args.connections, max_keepalive_connections=args.connections
    )
    headers = {"content-type": "application/json"}
    # Each line carries its own path (as in bench/cycle.lua): only the URL's origin counts.
    origin = httpx.URL(args.url).copy_with(path="/", query=None, fragment=None)
    async with httpx.AsyncClient(base_url=origin, limits=limits, timeout=30) as client:

        async def worker(offset: int) -> None:
            nonlocal counter, errors, non_2xx
            done = 0
            next_send = time.perf_counter() + offset * interval / args.connections
            while True:
                if per_worker and done >= per_worker:
                    return
                if not per_worker and time.perf_counter() >= deadline:
                    return
                if interval:
                    pause = next_send - time.perf_counter()
                    if pause > 0:
                        await asyncio.sleep(pause)
                    next_send += interval
                path, body = requests[counter % len(requests)]
                counter += 1
                sent = time.perf_counter()
                try:
                    response = await client.post(path, content=body, headers=headers)
                except httpx.HTTPError:
                    errors += 1
                    continue
                latencies.append((time.perf_counter() - sent) * 1e6)
                if response.status_code >= 300:
                    non_2xx += 1
                done += 1

        await asyncio.gather(*(worker(i) for i in range(args.connections)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "duration_us": int(elapsed * 1e6),
        "errors": errors,
        "non_2xx": non_2xx,
        "p50_us": _percentile(latencies, 50),
        "p99_us": _percentile(latencies, 99),
        "max_us": latencies[-1] if latencies else 0.0,
        "mean_us": sum(latencies) / len(latencies) if latencies else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("bodies")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=0.0, help="total requests per second")
    parser.add_argument("--count", type=int, default=0, help="stop after this many requests")
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    print("BENCH_JSON " + json.dumps(asyncio.run(_run(args))), flush=True)


if __name__ == "__main__":
    main()
