"""Request hardening: body size (413), media type (415), JSON depth and decoding (400).

`BodyLimitMiddleware` refuses a declared Content-Length over the limit before the
body is read, and counts the bytes actually received (chunked bodies, lying
Content-Length): past the limit it answers 413 whatever the route made of it.
`read_json` is what a route calls to decode a JSON body: only `application/json`
(or `application/fhir+json`), at most `max_json_depth` levels of nesting, checked
on the raw bytes before decoding so a hostile document never reaches the decoder's
recursion. Below that, containers deeper than `max_element_depth` are dropped after
decoding (counted in the log, never an error): junk nested in one resource must
not cost the cards the rest of the request deserves.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cds_service.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType, error_response
from cds_service.jsonbody import prune_deep
from cds_service.jsonio import decode_json

log = logging.getLogger("ms_cds.limits")

__all__ = [
    "JSON_MEDIA_TYPES",
    "BodyLimitMiddleware",
    "decode_body",
    "json_depth",
    "read_json",
]

JSON_MEDIA_TYPES = frozenset({"application/json", "application/fhir+json"})

# Everything but quotes and brackets (escapes are removed before this is applied).
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')
_ONE_BRACKET_KIND = bytes.maketrans(b"{}", b"[]")
# Peel at most this much structure (each pass is one level); walk anything larger.
_PEEL_MAX = 256 * 1024


def json_depth(raw: bytes, limit: int) -> int:
    """A nesting depth of a JSON text (brackets inside strings do not count) that exceeds
    `limit` exactly when the text nests deeper; exact up to `limit` + 1 once the text
    has more than `limit` brackets, cheap when it has fewer.

    In C-speed byte operations (a typical 45 KB request: ~45 us, where a regex over the
    strings and a loop over the brackets took ~450 us): drop escaped backslashes and
    quotes (left to right, so runs of backslashes pair correctly), keep only quotes and
    brackets (both kinds as one: depth does not depend on the kind, and a text whose
    kinds mismatch is not JSON, which the decoder refuses), drop the strings, then peel
    the empty containers, one level per pass. A huge structure (hostile, or a very large
    record) is walked once instead.
    """
    if b"\\" in raw:
        raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    quoted = raw.translate(_ONE_BRACKET_KIND, _NOT_STRUCTURE)
    quotes = quoted.count(b'"')
    count = len(quoted) - quotes
    if count <= limit:
        return count
    if quoted.count(b'""') * 2 == quotes:
        # Every string is an adjacent quote pair (the 1st and 2nd quote, the 3rd and 4th,
        # ...: a left-to-right count pairs them so): no string holds a bracket.
        structure = quoted.translate(None, b'"')
    else:
        # Drop adjacent pairs first: a bracket-free string, or two strings with no
        # structure between them merged into one; either way every bracket keeps its
        # inside/outside parity. Only strings holding brackets are left to split.
        quoted = quoted.replace(b'""', b"")
        structure = b"".join(quoted.split(b'"')[::2])
    if len(structure) > _PEEL_MAX:
        return _walk_depth(structure, limit)
    depth = 0
    while structure and depth <= limit:
        # `replace` matches in the text as it was: pairs a pass uncovers wait for the
        # next pass, so each pass is exactly one level.
        peeled = structure.replace(b"[]", b"")
        if len(peeled) == len(structure):
            break  # unbalanced: not JSON, which the decoder then refuses
        structure = peeled
        depth += 1
    return depth


def _walk_depth(structure: bytes, limit: int) -> int:
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


def decode_body(raw: bytes, max_depth: int, element_depth: int | None = None) -> Any:
    """`raw` decoded, the one way every JSON text the service reads is decoded: 400 when it
    nests deeper than `max_depth` levels or is not JSON; containers deeper than
    `element_depth` dropped and counted in the log."""
    keep = min(element_depth or max_depth, max_depth)
    if json_depth(raw, keep) <= keep:
        return decode_json(raw)
    if json_depth(raw, max_depth) > max_depth:
        raise BadRequest(f"the request body nests deeper than {max_depth} levels")
    value = decode_json(raw)
    dropped = prune_deep(value, keep)
    log.info("deep elements dropped", extra={"dropped": dropped, "depth_limit": keep})
    return value


async def read_json(request: Request, max_depth: int, element_depth: int | None = None) -> Any:
    """The decoded JSON body, or 415 (not JSON), 400 (invalid, too deep to decode)."""
    _check_media_type(request)
    return decode_body(await request.body(), max_depth, element_depth)


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
