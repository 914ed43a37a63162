"""Readiness checks: what GET /readyz asks before a load balancer sends traffic.

The app's `Runtime` holds a `Readiness` with the built-in checks (value sets loaded,
the database reachable); a part that needs a dependency to be ready adds its own:

    async def redis() -> CheckResult:
        await client.ping()
        return CheckResult(True, "reachable")

    runtime.readiness.add("redis", redis)

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

from cds_service.storage import Storage
from fhir_mappings.valuesets import all_value_sets

__all__ = ["CheckResult", "Readiness", "ReadinessCheck", "database_check", "value_sets_check"]


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

    def is_critical(self, name: str) -> bool:
        return name in self._critical

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


def database_check(storage: Storage) -> ReadinessCheck:
    """The database answers a trivial query: one ping per interval, cached, on the
    storage probe's own thread (never queued behind feedback)."""

    async def database() -> CheckResult:
        ping = await storage.probe.check()
        return CheckResult(ping.ok, "reachable" if ping.ok else f"failed: {ping.error_type}")

    return database


def ledger_check(storage: Storage) -> ReadinessCheck:
    """The card ledger is being written: not stuck with entries waiting too long."""

    async def ledger() -> CheckResult:
        status = storage.ledger.status()
        detail = (
            f"{status.pending} entries unwritten for {status.waiting_seconds:.0f} s, "
            f"{status.consecutive_failures} failed writes in a row"
            if status.stuck
            else f"{status.pending} entries waiting"
        )
        return CheckResult(not status.stuck, f"{detail}; {status.quarantined} quarantined")

    return ledger


async def value_sets_check() -> CheckResult:
    """The value sets the mappings match against are loaded (checked at start-up)."""
    loaded = all_value_sets()
    return CheckResult(bool(loaded), f"{len(loaded)} value sets loaded")
