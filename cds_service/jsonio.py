"""JSON bytes in and out of the HTTP edge, with orjson (several times faster than json).

orjson refuses a little JSON that the standard library reads: lone surrogate escapes,
NaN and Infinity. Such a body is decoded again the slow way and cleaned
(`jsonbody.clean_json`), so what the service accepts is unchanged; anything orjson
accepts has no lone surrogate, so the fast path needs no cleaning. One difference:
orjson reads an integer past 64 bits as a float (json: an int); FHIR integers are 32-bit,
so such a value is invalid either way and the lenient parse drops it.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from cds_service.errors import BadRequest
from cds_service.jsonbody import clean_json

__all__ = ["decode_json", "encode_json"]


def decode_json(body: bytes) -> Any:
    """The decoded body, or BadRequest (never the parser's message: it may quote PHI)."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    try:
        value = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        # ValueError covers JSONDecodeError and integers longer than Python converts.
        raise BadRequest("the request body is not valid JSON") from None
    return clean_json(value)  # lone surrogates would fail to encode in the response


def encode_json(value: Any) -> bytes:
    """Compact UTF-8 JSON (non-str keys rejected, as for any CDS Hooks response)."""
    return orjson.dumps(value)
