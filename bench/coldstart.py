"""Cold start: `ms-cds serve --dev` from process start to its first 200 on a real hook
call, then the first calls of each kind.

Each round starts a fresh process on a free loopback port with a throw-away SQLite
ledger, migrated beforehand (`ms-cds db upgrade`, untimed: a restart, not a first
installation), and posts a typical order-select every 5 ms until one is answered 200
(the first 200: uvicorn accepts connections once its start-up is done, so this is the
time until a worker serves a real call, whatever it left to that call). Then one typical
patient-view, a second order-select (the steady state), and a patient-view whose record
holds an MRI report text: the first call that needs the MRI text pipeline, which is
built then (the worker's RSS before and after it shows that pipeline's memory). All
synthetic, distinct patients. Medians over the rounds. Besides the wall-clock time to
the first 200, the server process's CPU time by then (user + system, from /proc): on
a shared machine the wall clock moves with the neighbours' load, the CPU time much less.

Run alone: `.venv/bin/python -m bench.coldstart` (`make bench` runs it too).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench.generator import generate
from bench.server import free_port, stop

__all__ = ["measure_cold_start"]

_POLL_SECONDS = 0.005
_JSON = {"content-type": "application/json"}


def _command() -> list[str]:
    script = Path(sys.executable).parent / "ms-cds"
    if script.exists():
        return [str(script)]
    found = shutil.which("ms-cds")
    return [found] if found else [sys.executable, "-m", "cds_service.cli"]


# A made-up radiology report (no patient's words): read by the MRI text pipeline.
_REPORT_TEXT = (
    "INDICATION: Multiple sclerosis, follow-up.\n"
    "FINDINGS: Two new T2 hyperintense lesions in the periventricular white matter. "
    "One of them shows gadolinium enhancement. No other enhancing lesions.\n"
    "IMPRESSION: New and enhancing demyelinating lesions since the prior study."
)


def _with_report(body: dict[str, Any]) -> dict[str, Any]:
    subject = {"reference": f"Patient/{body['context']['patientId']}"}
    report = {
        "resourceType": "DiagnosticReport",
        "id": "bench-mri-1",
        "status": "final",
        "category": [{"coding": [{"system": "http://loinc.org", "code": "LP29684-5"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "24587-8"}]},
        "subject": subject,
        "effectiveDateTime": "2026-01-15",
        "conclusion": _REPORT_TEXT,
    }
    bundle = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": report}]}
    return {**body, "prefetch": {**body["prefetch"], "mriReports": bundle}}


def _hook_bodies(seed: int) -> list[tuple[str, bytes]]:
    """A first order-select, a first patient-view, a second order-select, a patient-view
    with an MRI report text: distinct patients."""
    hooks = ("order-select", "patient-view", "order-select", "patient-view")
    requests = [generate(10_000 + i, "typical", seed, hook) for i, hook in enumerate(hooks)]
    bodies = [r.body for r in requests]
    bodies[-1] = _with_report(bodies[-1])
    return [(r.service, orjson.dumps(b)) for r, b in zip(requests, bodies, strict=True)]


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _one_round(seed: int) -> dict[str, float]:
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="ms-cds-cold-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CDS_")}
        env["CDS_DATABASE_URL"] = f"sqlite:///{tmp}/ledger.sqlite3"
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        bodies = _hook_bodies(seed)
        subprocess.run(
            [*_command(), "db", "upgrade"], env=env, check=True, stdout=subprocess.DEVNULL
        )
        cmd = [*_command(), "serve", "--dev", "--host", "127.0.0.1", "--port", str(port)]
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
                first_service, first_body = bodies[0]
                while True:
                    if proc.poll() is not None:
                        raise RuntimeError(f"ms-cds serve exited with {proc.returncode}")
                    try:
                        response = client.post(
                            f"/cds-services/{first_service}", content=first_body, headers=_JSON
                        )
                        response.raise_for_status()
                        break
                    except httpx.TransportError:
                        pass
                    if time.perf_counter() - started > 60:
                        raise RuntimeError("ms-cds serve did not answer within 60 s")
                    time.sleep(_POLL_SECONDS)
                out = {
                    "first_200_s": time.perf_counter() - started,
                    "first_200_cpu_s": _cpu_seconds(proc.pid),
                }
                names = ("first_patient_view_ms", "second_call_ms", "first_report_text_ms")
                for name, (service, body) in zip(names, bodies[1:], strict=True):
                    if name == "first_report_text_ms":
                        out["rss_before_text_mb"] = _rss_mb(proc.pid)
                    call_started = time.perf_counter()
                    response = client.post(f"/cds-services/{service}", content=body, headers=_JSON)
                    out[name] = (time.perf_counter() - call_started) * 1000
                    response.raise_for_status()
                out["rss_after_text_mb"] = _rss_mb(proc.pid)
        finally:
            stop(proc)
    return out


def measure_cold_start(rounds: int = 5, seed: int = 8) -> dict[str, Any]:
    """Medians (and every round) of the time to the first 200 and of the first hook calls."""
    runs = [_one_round(seed + i) for i in range(rounds)]
    result: dict[str, Any] = {"rounds": rounds}
    for name in runs[0]:
        values = [run[name] for run in runs]
        digits = 2 if name.endswith("_s") else 1
        result[name] = round(statistics.median(values), digits)
        result[f"{name}_per_round"] = [round(v, digits) for v in values]
    return result


if __name__ == "__main__":
    print(orjson.dumps(measure_cold_start(), option=orjson.OPT_INDENT_2).decode())
