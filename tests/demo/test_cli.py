"""`ms-cds demo` for real: it serves the demo endpoint and prints what to open."""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

from demo_data import SITUATIONS

BIN = Path(sys.executable).parent / "ms-cds"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_demo_serves_and_prints_a_link_per_patient(tmp_path: Path) -> None:
    """The banner has a sandbox link per patient and a curl; the endpoint answers FHIR."""
    port = _free_port()
    env = {
        **os.environ,
        "CDS_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "CDS_DEV": "false",  # `demo` turns development mode on by itself
    }
    process = subprocess.Popen(  # noqa: S603 (our own entry point, fixed arguments)
        [str(BIN), "demo", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        assert process.stdout is not None
        lines: list[str] = []
        while not any(line.strip().startswith("curl ") for line in lines):
            line = process.stdout.readline()
            assert line, "ms-cds demo exited before printing its banner"
            lines.append(line)
        base = f"http://127.0.0.1:{port}"
        links = [urlsplit(line.strip()) for line in lines if "sandbox.cds-hooks.org" in line]
        params = [parse_qs(link.query) for link in links]
        # One patient-view link per patient, then the Rx View ordering fingolimod.
        assert [p["patientId"] for p in params] == [[s.id] for s in SITUATIONS] + [
            ["ms-escalation"]
        ]
        assert [p["hook"] for p in params] == [["patient-view"]] * len(SITUATIONS) + [
            ["order-select"]
        ]
        assert params[-1]["screen"] == ["rx-view"]
        assert all(p["fhirServiceUrl"] == [f"{base}/demo/fhir"] for p in params)
        assert all(p["serviceDiscoveryURL"] == [f"{base}/cds-services"] for p in params)
        curl = shlex.split(next(line for line in lines if line.strip().startswith("curl ")))
        assert curl[4] == f"{base}/cds-services/ms-order-select"
        deadline = time.monotonic() + 30
        while True:
            try:
                metadata = httpx.get(f"{base}/demo/fhir/metadata", timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "ms-cds demo did not start serving"
                time.sleep(0.2)
        assert metadata.json()["fhirVersion"] == "4.0.1"
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_demo_help_names_host_and_port() -> None:
    """`ms-cds demo --help` documents --host and --port."""
    result = subprocess.run(  # noqa: S603 (our own entry point)
        [str(BIN), "demo", "--help"], capture_output=True, text=True, check=True
    )
    assert "--host" in result.stdout and "--port" in result.stdout
