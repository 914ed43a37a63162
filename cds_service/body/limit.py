"""Request bodies at the door: size (413) and media type (415), then one decode.

`BodyLimitMiddleware` refuses a declared Content-Length over the limit before the
body is read, and counts the bytes actually received (chunked bodies, lying
Content-Length): past the limit it answers 413 whatever the route made of it.
`read_json` is what a route calls for its JSON body: only `application/json` (or
`application/fhir+json`) in UTF-8, then `jsontext.decode_body`.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cds_service.body.jsontext import decode_body
from cds_service.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType, error_response
from cds_service.offload import off_loop

__all__ = ["JSON_MEDIA_TYPES", "BodyLimitMiddleware", "read_json"]

JSON_MEDIA_TYPES = frozenset({"application/json", "application/fhir+json"})


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"the request body exceeds the limit of {limit} bytes")


def _check_media_type(request: Request) -> None:
    content_type = request.headers.get("content-type", "")
    media, _, params = content_type.partition(";")
    media = media.strip().lower()
    if media not in JSON_MEDIA_TYPES:
        shown = f"'{media[:64]}'" if media else "missing"
        raise UnsupportedMediaType(f"content type {shown}: send application/json")
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.lower() == "charset" and value.strip('"').lower() not in ("utf-8", "utf8"):
            raise UnsupportedMediaType("JSON bodies must be UTF-8")


async def read_json(request: Request, max_depth: int, element_depth: int | None = None) -> Any:
    """The decoded JSON body, or 415 (not JSON), 400 (invalid, too deep to decode)."""
    _check_media_type(request)
    try:
        body = await request.body()
    except ClientDisconnect:  # e.g. the read deadline closed it (cds_service.read_deadline)
        raise BadRequest("the connection closed before the request body was complete") from None
    if len(body) >= OFF_LOOP_DECODE_BYTES:  # a large body's decode would hold the loop
        return await off_loop(decode_body, body, max_depth, element_depth)
    return decode_body(body, max_depth, element_depth)


# Bodies this large are decoded in the CPU pool (a typical call's is a few KB).
OFF_LOOP_DECODE_BYTES = 256 * 1024


class BodyLimitMiddleware:
    """413 for request bodies over `max_bytes`, declared or streamed."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            if declared.isdigit():
                await error_response(_too_large(self.max_bytes))(scope, receive, send)
            else:
                await error_response(BadRequest("invalid Content-Length"))(scope, receive, send)
            return

        received = 0
        exceeded = False
        replaced = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise _too_large(self.max_bytes)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal replaced
            if replaced:
                return
            if exceeded and message["type"] == "http.response.start":
                # Whatever the route made of the cut body (its own 400, say), the answer is 413.
                replaced = True
                await error_response(_too_large(self.max_bytes))(scope, receive, send)
                return
            await send(message)

        await self.app(scope, counting_receive, guarded_send)
