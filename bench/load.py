"""Drive a server with distinct requests from a separate process: wrk, else bench.pyload."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LoadResult", "generator_name", "run_load", "write_bodies"]

LUA = Path(__file__).with_name("cycle.lua")


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    errors: int
    non_2xx: int
    p50_ms: float
    p99_ms: float
    max_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, float]:
        return {
            "requests": self.requests,
            "seconds": round(self.seconds, 2),
            "req_per_s": round(self.rps, 1),
            "p50_ms": round(self.p50_ms, 2),
            "p99_ms": round(self.p99_ms, 2),
            "max_ms": round(self.max_ms, 2),
            "errors": self.errors,
            "non_2xx": self.non_2xx,
        }


def generator_name() -> str:
    return "wrk" if shutil.which("wrk") else "python-httpx"


def write_bodies(path: Path, requests: list[tuple[str, bytes]]) -> Path:
    """One 'path<TAB>body' line per request (compact JSON has no newline)."""
    with path.open("wb") as handle:
        for url_path, body in requests:
            handle.write(url_path.encode() + b"\t" + body + b"\n")
    return path


def _parse(output: str) -> LoadResult:
    line = next(x for x in output.splitlines() if x.startswith("BENCH_JSON "))
    data = json.loads(line.removeprefix("BENCH_JSON "))
    return LoadResult(
        requests=int(data["requests"]),
        seconds=data["duration_us"] / 1e6,
        errors=int(data["errors"]),
        non_2xx=int(data["non_2xx"]),
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
    )


def run_load(
    url: str,
    bodies: Path,
    *,
    connections: int = 8,
    duration: float = 10.0,
    rate: float = 0.0,
    count: int = 0,
) -> LoadResult:
    """Closed-loop load (rate=0), paced load (rate>0) or a fixed number of requests.

    wrk always runs for its whole duration (stopping its thread early does not end
    the run), so fixed-count runs use the Python generator.
    """
    if shutil.which("wrk") and not count:
        threads = 1  # one load thread leaves the other core to the server
        env = dict(os.environ, BENCH_BODIES=str(bodies))
        if rate:
            env["BENCH_RATE"] = str(rate)
        cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{int(duration)}s", "--timeout", "10s"]
        cmd += ["-s", str(LUA), url]
    else:
        cmd = [sys.executable, "-m", "bench.pyload", url, str(bodies)]
        cmd += [f"--connections={connections}", f"--duration={duration}"]
        cmd += [f"--rate={rate}", f"--count={count}"]
        env = dict(os.environ)
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True, timeout=900)
    return _parse(done.stdout)
