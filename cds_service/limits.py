"""Request hardening: body size (413), media type (415), JSON depth and decoding (400).

`BodyLimitMiddleware` refuses a declared Content-Length over the limit before the
body is read, and counts the bytes actually received (chunked bodies, lying
Content-Length): past the limit it answers 413 whatever the route made of it.
`read_json` is what a route calls to decode a JSON body: only `application/json`
(or `application/fhir+json`), at most `max_json_depth` levels of nesting, checked
on the raw bytes before decoding so a hostile document never reaches the decoder's
recursion.
"""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cds_service.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType, error_response
from cds_service.jsonbody import clean_json

__all__ = ["JSON_MEDIA_TYPES", "BodyLimitMiddleware", "json_depth", "read_json"]

JSON_MEDIA_TYPES = frozenset({"application/json", "application/fhir+json"})

# A JSON string, escapes included (the "unrolled loop" form: linear, no backtracking).
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def json_depth(raw: bytes, limit: int) -> int:
    """A nesting depth of a JSON text (brackets inside strings do not count) that exceeds
    `limit` exactly when the text nests deeper; exact up to `limit` + 1 once the text
    has more than `limit` brackets, cheap when it has fewer."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return min(raw.count(b"[") + raw.count(b"{"), limit)
    structure = _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    depth = deepest = 0
    for char in structure:
        if char in b"[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        else:
            depth -= 1
    return deepest


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"the request body exceeds the limit of {limit} bytes")


async def read_json(request: Request, max_depth: int) -> Any:
    """The decoded JSON body, or 415 (not JSON), 400 (invalid, too deep)."""
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
    body = await request.body()
    if json_depth(body, max_depth) > max_depth:
        raise BadRequest(f"the request body nests deeper than {max_depth} levels")
    try:
        value = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        # ValueError covers JSONDecodeError and integers longer than Python converts.
        raise BadRequest("the request body is not valid JSON") from None
    return clean_json(value)  # lone surrogates would fail to encode in the response


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
