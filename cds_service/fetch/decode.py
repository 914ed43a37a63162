"""Reading an upstream response body with a cap on DECODED bytes (a bomb stays small).

httpx decodes every `Content-Encoding` it knows, stacked ones included, and inflates a
whole raw chunk before the caller can count, so a 2 KB doubly gzipped body can become
gigabytes inside one call. Here the service decodes the raw bytes itself:

- exactly one coding: none/`identity`, `gzip` (`x-gzip`) or `deflate` (zlib, or raw
  deflate as some servers send it); stacked codings or any other token are refused;
- each raw chunk is inflated in steps of at most `STEP` bytes and the decoded total
  is checked after every step, so memory and CPU stay bounded by the cap, and the
  reader awaits between raw chunks, so a caller's deadline can cancel it;
- the stream must end cleanly (gzip members after the first are decoded too;
  trailing garbage is corrupt).

Faults are `BodyRefused` with a short reason: no URL, header value or body in it.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator

import httpx

__all__ = ["ACCEPT_ENCODING", "STEP", "BodyRefused", "BoundedDecoder", "read_bounded"]

ACCEPT_ENCODING = "gzip, deflate"
"""Sent explicitly: httpx's default grows with whatever decoders happen to be installed."""
STEP = 64 * 1024
TOO_LARGE = "response too large"
UNSUPPORTED = "unsupported encoding"
CORRUPT = "corrupt encoding"


class BodyRefused(Exception):
    """The body cannot be had within the rules; `reason` is short and PHI-free."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def coding_of(response: httpx.Response) -> str:
    """The one content coding of `response` ("identity", "gzip" or "deflate")."""
    tokens = [
        token.strip().lower()
        for token in response.headers.get_list("content-encoding", split_commas=True)
    ]
    tokens = [token for token in tokens if token]
    if len(tokens) > 1:
        raise BodyRefused(UNSUPPORTED)
    coding = tokens[0] if tokens else "identity"
    coding = {"x-gzip": "gzip"}.get(coding, coding)
    if coding not in ("identity", "gzip", "deflate"):
        raise BodyRefused(UNSUPPORTED)
    return coding


class BoundedDecoder:
    """Decodes one coding incrementally; refuses once more than `limit` bytes come out."""

    def __init__(self, coding: str, limit: int) -> None:
        self._coding = coding
        self._limit = limit
        self._size = 0
        self._started = False
        self._size_in = 0
        self._inflater = self._new_inflater()

    def _new_inflater(self) -> zlib._Decompress | None:
        if self._coding == "identity":
            return None
        return zlib.decompressobj(16 + zlib.MAX_WBITS if self._coding == "gzip" else zlib.MAX_WBITS)

    def _count(self, data: bytes) -> bytes:
        self._size += len(data)
        if self._size > self._limit:
            raise BodyRefused(TOO_LARGE)
        return data

    def feed(self, raw: bytes) -> bytes:
        """The decoded bytes of the next raw chunk."""
        self._size_in += len(raw)
        if self._inflater is None:
            return self._count(raw)
        inflater = self._inflater
        if not self._started and raw and self._coding == "deflate":
            self._started = True
            try:  # zlib-wrapped, as RFC 9110 says; else raw deflate, as some servers send
                zlib.decompressobj().decompress(raw[:2])
            except zlib.error:
                inflater = self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        out = bytearray()
        pending = raw
        while True:
            if inflater.eof:
                if not pending:
                    break
                inflater = self._inflater = self._next_member(pending)
            try:
                chunk = inflater.decompress(pending, STEP)
            except zlib.error:
                raise BodyRefused(CORRUPT) from None
            out += self._count(chunk)
            pending = inflater.unconsumed_tail
            if inflater.eof:
                pending = inflater.unused_data + pending
            if not pending and len(chunk) < STEP:
                break  # input used up and no output left buffered
        return bytes(out)

    def _next_member(self, pending: bytes) -> zlib._Decompress:
        # Another gzip member may follow (it is decoded); anything else is corrupt.
        if self._coding != "gzip" or not pending.startswith(b"\x1f\x8b"):
            raise BodyRefused(CORRUPT)
        return zlib.decompressobj(16 + zlib.MAX_WBITS)

    def finish(self) -> None:
        """Refuses a compressed stream that ended part-way (an empty body stays empty)."""
        if self._inflater is not None and self._size_in and not self._inflater.eof:
            raise BodyRefused(CORRUPT)


async def read_bounded(response: httpx.Response, limit: int) -> bytes:
    """The decoded body of a streamed `response`: at most `limit` decoded bytes, and at
    most `limit` raw ones. Never lets httpx decode."""
    decoder = BoundedDecoder(coding_of(response), limit)
    if response.is_stream_consumed:
        # Built in memory, already read (an in-process transport such as a test's): no
        # raw bytes are left; only the cap applies.
        if len(response.content) > limit:
            raise BodyRefused(TOO_LARGE)
        return response.content
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyRefused(TOO_LARGE)
    body = bytearray()
    raw_size = 0
    chunks: AsyncIterator[bytes] = response.aiter_raw()
    async for raw in chunks:
        raw_size += len(raw)
        if raw_size > limit:
            raise BodyRefused(TOO_LARGE)
        body += decoder.feed(raw)
    decoder.finish()
    return bytes(body)
