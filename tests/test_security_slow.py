"""Issue 17 finding 20: `ms-cds serve` closes a connection whose request headers or body do
not arrive within CDS_REQUEST_READ_TIMEOUT_SECONDS (uvicorn alone kept them open for ever)."""

from __future__ import annotations

import importlib
import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI

from cds_service.cli.serving import READ_DEADLINE_PROTOCOL, uvicorn_options
from cds_service.read_deadline import READ_TIMEOUT_ENV, ReadDeadlineProtocol
from tests.builders import hook_request
from tests.conftest import make_settings
from tests.servers import uvicorn_server

DEADLINE = 1.0
SERVICE = "/cds-services/ms-patient-view"


@pytest.fixture
def address(
    app_factory: Callable[..., FastAPI], monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, int]]:
    """The app under uvicorn with the serve command's protocol and a 1 s read deadline."""
    monkeypatch.setenv(READ_TIMEOUT_ENV, str(DEADLINE))
    with uvicorn_server(app_factory(), http=ReadDeadlineProtocol) as url:
        parts = urlsplit(url)
        assert parts.hostname is not None and parts.port is not None
        yield parts.hostname, parts.port


def closed_after(conn: socket.socket, limit: float) -> float | None:
    """Seconds until the server closed `conn` (reading it to the end), None if still open."""
    started = time.monotonic()
    conn.settimeout(limit)
    try:
        while conn.recv(65536):
            pass
    except TimeoutError:
        return None
    except ConnectionResetError:
        pass
    return time.monotonic() - started


def request_bytes(body: bytes, length: int | None = None) -> bytes:
    head = (
        f"POST {SERVICE} HTTP/1.1\r\nHost: cds\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body) if length is None else length}\r\n\r\n"
    )
    return head.encode() + body


def test_silent_connection_is_closed(address: tuple[str, int]) -> None:
    """A connection that never sends a byte is closed at the deadline."""
    with socket.create_connection(address) as conn:
        waited = closed_after(conn, DEADLINE + 4)
    assert waited is not None


def test_trickled_headers_are_cut_off(address: tuple[str, int]) -> None:
    """Headers sent a byte at a time are cut off at the deadline, however steady the trickle."""
    with socket.create_connection(address) as conn:
        started = time.monotonic()
        conn.sendall(b"POST /cds-services/ms-patient-view HTTP/1.1\r\nHost: cds\r\n")
        try:
            for byte in b"X-Slow: " + b"a" * 40:
                conn.sendall(bytes([byte]))
                time.sleep(0.1)
        except OSError:
            pass  # the server closed the connection
        waited = closed_after(conn, DEADLINE + 4)
    assert waited is not None
    assert time.monotonic() - started < DEADLINE + 4


def test_stalled_body_is_cut_off_without_an_answer(
    address: tuple[str, int], caplog: pytest.LogCaptureFixture
) -> None:
    """A body that stops short of its Content-Length gets no answer: the connection closes,
    and the handler sees a 400 (a disconnect), never an unhandled error."""
    with socket.create_connection(address) as conn:
        conn.sendall(request_bytes(b'{"hook": "patient-view"', length=5000))
        conn.settimeout(DEADLINE + 4)
        received = b""
        try:
            while chunk := conn.recv(65536):
                received += chunk
        except (TimeoutError, ConnectionResetError):
            pytest.fail("the stalled body's connection stayed open past the deadline")
    assert received == b""
    time.sleep(0.5)  # the handler ends after the close
    assert "request read timed out" in caplog.text
    assert "unhandled error" not in caplog.text


def test_deadline_is_per_request_not_per_connection(address: tuple[str, int]) -> None:
    """Keep-alive requests that each arrive quickly are all answered, though together they
    span more than the deadline."""
    body = json.dumps(hook_request("patient-view")).encode()
    with socket.create_connection(address) as conn:
        conn.settimeout(5)
        for _ in range(3):
            conn.sendall(request_bytes(body))
            answer = _response(conn)
            assert answer.startswith(b"HTTP/1.1 200"), answer[:80]
            time.sleep(DEADLINE * 0.7)


def _response(conn: socket.socket) -> bytes:
    """One whole response: its head, then as many body bytes as Content-Length says
    (the head and the body can arrive in separate segments)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    while len(rest) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        rest += chunk
    return head + b"\r\n\r\n" + rest


def test_serve_uses_the_deadline_protocol(monkeypatch: pytest.MonkeyPatch) -> None:
    """`ms-cds serve` runs uvicorn with the deadline protocol and exports the setting."""
    monkeypatch.delenv(READ_TIMEOUT_ENV, raising=False)
    options = uvicorn_options(make_settings(request_read_timeout_seconds=7.5))
    assert options["http"] == READ_DEADLINE_PROTOCOL
    module, _, name = READ_DEADLINE_PROTOCOL.partition(":")
    assert getattr(importlib.import_module(module), name) is ReadDeadlineProtocol
    assert os.environ[READ_TIMEOUT_ENV] == "7.5"


def test_served_options_answer_a_websocket_upgrade_as_plain_http(
    app_factory: Callable[..., FastAPI], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the serve command's options an Upgrade: websocket request gets a plain HTTP 200."""
    monkeypatch.delenv(READ_TIMEOUT_ENV, raising=False)  # uvicorn_options exports it
    options = uvicorn_options(make_settings())
    with uvicorn_server(app_factory(), http=ReadDeadlineProtocol, ws=options["ws"]) as url:
        parts = urlsplit(url)
        assert parts.hostname is not None and parts.port is not None
        with socket.create_connection((parts.hostname, parts.port)) as conn:
            conn.sendall(
                b"GET /healthz HTTP/1.1\r\nHost: cds\r\nConnection: Upgrade\r\n"
                b"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
            )
            conn.settimeout(5)
            head = conn.recv(65536)
    assert head.startswith(b"HTTP/1.1 200 "), head[:40]
