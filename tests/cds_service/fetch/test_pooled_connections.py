"""The shared client's pooled connections (a live loopback server): an idle connection is
reused, and one the server closed while idle is dropped, never written to."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from cds_service.config import Settings
from cds_service.fetch import new_client

PATIENT = json.dumps({"resourceType": "Patient", "id": "p1"}).encode()


@dataclass
class _Server:
    """Answers each GET with a Patient; closes a connection after its first answer when
    `close_after_answer`."""

    close_after_answer: bool = False
    connections: int = 0
    requests: int = 0
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                self.requests += 1
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/fhir+json\r\n"
                    + f"Content-Length: {len(PATIENT)}\r\n\r\n".encode()
                    + PATIENT
                )
                await writer.drain()
                if self.close_after_answer:
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def _serving(server: _Server) -> AsyncIterator[str]:
    listening = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    port = listening.sockets[0].getsockname()[1]
    async with listening:
        yield f"http://127.0.0.1:{port}/fhir/Patient/p1"


@pytest.mark.parametrize("close_after_answer", [False, True])
async def test_idle_connection_reused_unless_the_server_closed_it(
    close_after_answer: bool,
) -> None:
    """Three calls one after another: one connection while the server keeps it open; a new
    one for each call when the server closes it after answering, and every call succeeds."""
    server = _Server(close_after_answer=close_after_answer)
    async for url in _serving(server):
        async with new_client(Settings(_env_file=None, dev=True)) as client:
            for _ in range(3):
                response = await client.get(url)
                assert response.status_code == 200
                assert response.json()["id"] == "p1"
                await asyncio.sleep(0.05)  # the server's close reaches the idle socket
    assert server.requests == 3
    assert server.connections == (3 if close_after_answer else 1)
