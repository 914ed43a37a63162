"""JSON text in and out of the edge: one decoder, one depth rule, for every JSON it reads.

`decode_body` is how a request body, a fetched FHIR response and a request file
(`ms-cds evaluate`) are decoded: at most `max_depth` levels of nesting, checked on
the raw bytes before decoding so a hostile document never reaches the decoder's
recursion (400 otherwise); below that, containers deeper than the element depth
are dropped after decoding (counted in the log, never an error): junk nested in one
resource must not cost the cards the rest of the request deserves.

orjson refuses a little JSON that the standard library reads: lone surrogate escapes,
NaN and Infinity. Such a body is decoded again the slow way and cleaned
(`clean.clean_json`), so what the service accepts is unchanged; anything orjson
accepts has no lone surrogate, so the fast path needs no cleaning. One difference:
orjson reads an integer past 64 bits as a float (json: an int); FHIR integers are 32-bit,
so such a value is invalid either way and the lenient parse drops it.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import orjson

from cds_service.body.clean import clean_json, prune_deep
from cds_service.errors import BadRequest

__all__ = ["decode_body", "decode_json", "encode_json", "json_depth"]

log = logging.getLogger("ms_cds.body")

# Everything but quotes and brackets (escapes are removed before this is applied).
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')
_ONE_BRACKET_KIND = bytes.maketrans(b"{}", b"[]")
# Peel at most this many levels, one pass each (FHIR data nests far less deep); a text
# nested deeper is walked from there, which stops once past the limit.
_PEEL_PASSES = 32
# A pass that removes less than 1/_NARROW of what is left ends the peeling too.
_NARROW = 64


def json_depth(raw: bytes, limit: int) -> int:
    """A nesting depth of a JSON text (brackets inside strings do not count) that exceeds
    `limit` exactly when the text nests deeper; exact up to `limit` + 1 once the text
    has more than `limit` brackets, cheap when it has fewer.

    In C-speed byte operations, not a loop over characters: drop escaped backslashes and
    quotes (left to right, so runs of backslashes pair correctly), keep only quotes and
    brackets (both kinds as one: depth does not depend on the kind, and a text whose
    kinds mismatch is not JSON, which the decoder refuses), drop the strings, then peel
    the empty containers, one level per pass. What is still nested after
    `_PEEL_PASSES` levels, or a narrow deep tail (hostile), is walked, stopping once past
    the limit.
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
    depth = 0
    while structure and depth <= limit:
        # `replace` matches in the text as it was: pairs a pass uncovers wait for the
        # next pass, so each pass is exactly one level.
        peeled = structure.replace(b"[]", b"")
        removed = len(structure) - len(peeled)
        if not removed:
            break  # unbalanced: not JSON, which the decoder then refuses
        structure = peeled
        depth += 1
        if structure and (depth == _PEEL_PASSES or removed * _NARROW < len(structure)):
            # Deeper than data nests, or deep and narrow (a pass removed little): hostile.
            return depth + _walk_depth(structure, limit - depth)
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
