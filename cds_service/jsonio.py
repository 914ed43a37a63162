"""JSON bytes in and out of the HTTP edge, with orjson (several times faster than json).

FHIR JSON forbids NaN and Infinity; orjson rejects them too, along with lone
surrogates and nesting deeper than 1,024 levels: all answered as 400.
"""

from __future__ import annotations

from typing import Any

import orjson

from cds_service.errors import BadRequest

__all__ = ["decode_json", "encode_json"]


def decode_json(body: bytes) -> Any:
    """The decoded body, or BadRequest (never the parser's message: it may quote PHI)."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BadRequest("the request body is not valid JSON") from None


def encode_json(value: Any) -> bytes:
    """Compact UTF-8 JSON (non-str keys rejected, as for any CDS Hooks response)."""
    return orjson.dumps(value)
