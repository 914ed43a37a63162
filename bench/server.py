"""Start an ASGI app under one uvicorn worker on a free loopback port, and stop it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

__all__ = ["Server", "free_port", "serve", "stop"]


@dataclass(frozen=True)
class Server:
    url: str
    pid: int

    def rss_mb(self) -> float:
        """Resident set size of the server process, from /proc (Linux)."""
        with open(f"/proc/{self.pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if it has not exited within 10 s."""
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def serve(app: str, env: dict[str, str] | None = None, ready_path: str = "/") -> Iterator[Server]:
    """uvicorn, one worker, uvloop + httptools, no access log; stderr discarded.

    The card ledger goes to a throw-away SQLite file; CDS_REDIS_URL is dropped unless
    `env` sets it.
    """
    tmp = tempfile.TemporaryDirectory(prefix="ms-cds-bench-")
    base = {k: v for k, v in os.environ.items() if k != "CDS_REDIS_URL"}
    base["CDS_DATABASE_URL"] = f"sqlite:///{tmp.name}/ledger.sqlite3"
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", f"--port={port}"]
    cmd += ["--workers=1", "--loop=uvloop", "--http=httptools", "--no-access-log"]
    cmd += ["--log-level=warning"]
    proc = subprocess.Popen(
        cmd,
        env={**base, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{app} exited with {proc.returncode}")
            try:
                httpx.get(url + ready_path, timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{app} did not start") from None
                time.sleep(0.2)
        yield Server(url, proc.pid)
    finally:
        stop(proc)
        tmp.cleanup()
