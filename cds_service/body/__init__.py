"""Request bodies: size limit (413), media type (415), one JSON decoder with one depth
rule (400), surrogate cleaning and deep-junk pruning; and JSON out."""

from cds_service.body.clean import clean_json, prune_deep
from cds_service.body.jsontext import decode_body, decode_json, encode_json, json_depth
from cds_service.body.limit import JSON_MEDIA_TYPES, BodyLimitMiddleware, read_json

__all__ = [
    "JSON_MEDIA_TYPES",
    "BodyLimitMiddleware",
    "clean_json",
    "decode_body",
    "decode_json",
    "encode_json",
    "json_depth",
    "prune_deep",
    "read_json",
]
