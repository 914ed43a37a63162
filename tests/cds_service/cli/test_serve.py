"""`ms-cds serve` for real: several workers share their metrics, and SIGTERM lets an
in-flight request finish before the lifespan shutdown runs and the process exits 0.

The server listens on a free loopback port (never 8000) and is always killed.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.builders import hook_request, med_request, ms_condition

BIN = Path(sys.executable).parent / "ms-cds"
ROOT = Path(__file__).parents[3]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    process: subprocess.Popen[str]
    port: int
    metrics_dir: Path
    ledger: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def msc_body() -> bytes:
    order = med_request("msc-1", text="Mesenchymal stem cell infusion")
    request = hook_request("order-sign", drafts=[order], conditions=[ms_condition()])
    return json.dumps(request).encode()


def requests_total(url: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        if family.name == "cds_hook_requests":
            return sum(s.value for s in family.samples if s.name.endswith("_total"))
    return 0.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One two-worker server for the module; the last test shuts it down."""
    if not BIN.exists():
        pytest.skip(f"{BIN} not installed (make install)")
    tmp_path = tmp_path_factory.mktemp("serve")
    port = free_port()
    metrics_dir = tmp_path / "metrics"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDS_")}
    env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    # The card ledger in a SQLite file, migrated once before the workers start.
    env["CDS_DATABASE_URL"] = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    env["CDS_DATABASE_MIGRATE_ON_STARTUP"] = "false"
    subprocess.run(  # noqa: S603
        [str(BIN), "db", "upgrade"],
        cwd=tmp_path,
        env=env,
        check=True,
        timeout=60,
        capture_output=True,
    )
    process = subprocess.Popen(  # noqa: S603
        [str(BIN), "serve", "--dev", "--port", str(port), "--workers", "2", "--log-format", "json"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: the workers can be killed with it
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"server did not start: {stop(process)[-2000:]}")
            time.sleep(0.1)
        yield Server(process, port, metrics_dir, tmp_path / "ledger.sqlite3")
    finally:
        stop(process)


def stop(process: subprocess.Popen[str]) -> str:
    """Kill the server's process group (parent and workers) if still there; its output."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    try:
        return process.communicate(timeout=30)[0] or ""
    except (subprocess.TimeoutExpired, ValueError):
        return ""


def healthcheck_command() -> list[str]:
    """The Dockerfile's HEALTHCHECK command, run with this interpreter."""
    text = (ROOT / "deploy" / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    line = next(line for line in text.splitlines() if line.startswith("HEALTHCHECK"))
    command: list[str] = json.loads(line.split(" CMD ", 1)[1])
    assert command[0] == "python"
    return [sys.executable, *command[1:]]


def run_healthcheck(port: int) -> int:
    env = {**os.environ, "CDS_PORT": str(port)}
    done = subprocess.run(  # noqa: S603
        healthcheck_command(), env=env, capture_output=True, timeout=60, check=False
    )
    return done.returncode


def test_docker_healthcheck_command(server: Server) -> None:
    """The image's HEALTHCHECK command succeeds against a running server, fails without one."""
    assert run_healthcheck(server.port) == 0
    assert run_healthcheck(free_port()) != 0


def test_workers_share_metrics_and_shut_down_gracefully(server: Server) -> None:
    """Two workers: /metrics counts every worker's calls; on SIGTERM a half-received request
    is still answered 200 with its card, each worker's lifespan shutdown runs and every
    card is in the ledger, exit code 0; every log line is JSON."""
    body = msc_body()
    for _ in range(4):
        with httpx.Client(timeout=10) as client:  # a new connection each: either worker
            response = client.post(
                f"{server.url}/cds-services/ms-order-sign",
                content=body,
                headers={"content-type": "application/json"},
            )
        assert response.status_code == 200
    # Every scrape, whichever worker answers it, sees all four calls.
    assert {requests_total(server.url) for _ in range(4)} == {4.0}
    pids = {p.stem.rsplit("_", 1)[-1] for p in server.metrics_dir.glob("*.db")}
    assert len(pids) >= 2  # each worker writes its own values

    # An in-flight request: headers and half the body sent, then SIGTERM.
    head = (
        f"POST /cds-services/ms-order-sign HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=15) as sock:
        sock.sendall(head + body[: len(body) // 2])
        time.sleep(0.5)  # the worker has the request before the signal
        server.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)  # the server is shutting down now
        sock.sendall(body[len(body) // 2 :])
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 200 OK"
    payload = json.loads(rest.partition(b"\r\n\r\n")[2])
    assert [c["source"]["topic"]["code"] for c in payload["cards"]] == ["mscWarning"]

    output, _ = server.process.communicate(timeout=60)
    assert server.process.returncode == 0
    # No card ledger row lost: the four calls' cards and the in-flight one's are all written.
    with closing(sqlite3.connect(server.ledger)) as db:
        rows = db.execute("SELECT topic, service_id FROM card_ledger").fetchall()
    assert rows == [("mscWarning", "ms-order-sign")] * 5
    # After the CLI's start-up banner, every log line, uvicorn's included, is one JSON object.
    lines = [line for line in output.splitlines() if line.strip()]
    first = next(i for i, line in enumerate(lines) if line.startswith("{"))
    events = [json.loads(line) for line in lines[first:]]
    assert {"uvicorn.error", "ms_cds.app", "ms_cds.request"} <= {e["logger"] for e in events}
    assert [e["event"] for e in events].count("shutdown complete") == 2
    assert "Traceback" not in output


def test_metrics_aggregate_across_processes(tmp_path: Path) -> None:
    """Multiprocess mode: values written by two processes are summed by a third's /metrics."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    count = "from cds_service.ops import metrics; metrics.count_fetch('timeout')"
    for _ in range(2):
        subprocess.run([sys.executable, "-c", count], env=env, check=True, timeout=60)  # noqa: S603
    render = (
        "from cds_service.ops import metrics; import sys; "
        "sys.stdout.write(metrics.render_metrics()[0].decode())"
    )
    text = subprocess.run(  # noqa: S603
        [sys.executable, "-c", render],
        env=env,
        check=True,
        timeout=60,
        capture_output=True,
        text=True,
    ).stdout
    samples = {
        s.labels.get("outcome"): s.value
        for f in text_string_to_metric_families(text)
        if f.name == "cds_fhir_fetches"
        for s in f.samples
    }
    assert samples["timeout"] == 2.0
    assert samples["ok"] == 0.0
