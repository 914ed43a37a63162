"""Readiness checks: what GET /readyz asks before a load balancer sends traffic.

`create_app` puts a `Readiness` on `app.state.readiness` with the built-in checks
(rules checked, value sets loaded). Other parts add theirs, e.g. storage in the
lifespan when a database is configured:

    async def database() -> CheckResult:
        async with engine.connect() as conn:
            await conn.execute(text("select 1"))
        return CheckResult(True, "reachable")

    app.state.readiness.add("database", database)

A check returns a CheckResult, or raises: an exception or the time limit
(`CDS_READINESS_TIMEOUT_SECONDS`) makes it fail, reported by exception type only
(a message may hold a connection string). A failing critical check makes /readyz
503; a failing non-critical one (`critical=False`) is reported and the answer stays
200, "degraded": the pod still serves what it can.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

__all__ = ["CheckResult", "Readiness", "ReadinessCheck"]


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    detail: str = ""


ReadinessCheck = Callable[[], Awaitable[CheckResult]]


class Readiness:
    """Named async checks, run concurrently, each under a time limit."""

    def __init__(self, timeout_seconds: float = 2.0) -> None:
        self.timeout_seconds = timeout_seconds
        self._checks: dict[str, ReadinessCheck] = {}
        self._critical: set[str] = set()

    def add(self, name: str, check: ReadinessCheck, critical: bool = True) -> None:
        if name in self._checks:
            raise ValueError(f"readiness check {name!r} is already registered")
        self._checks[name] = check
        if critical:
            self._critical.add(name)

    def remove(self, name: str) -> None:
        self._checks.pop(name, None)
        self._critical.discard(name)

    def is_critical(self, name: str) -> bool:
        return name in self._critical

    @property
    def names(self) -> list[str]:
        return list(self._checks)

    async def _run_one(self, check: ReadinessCheck) -> CheckResult:
        try:
            return await asyncio.wait_for(check(), self.timeout_seconds)
        except TimeoutError:
            return CheckResult(False, f"no answer within {self.timeout_seconds:g} s")
        except Exception as exc:  # a failing check is a result, never a 500
            return CheckResult(False, f"failed: {type(exc).__name__}")

    async def run(self) -> dict[str, CheckResult]:
        names = list(self._checks)
        results = await asyncio.gather(*(self._run_one(self._checks[n]) for n in names))
        return dict(zip(names, results, strict=True))
