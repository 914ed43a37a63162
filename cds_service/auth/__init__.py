"""Client authentication (CDS Hooks 2.0 "Trusting CDS Clients"): JWT verification,
the issuers' signing keys (JWKS), and the jti replay cache."""

from cds_service.auth.client import audiences_for, authenticate
from cds_service.auth.jwks import JwksCache, KeysUnavailable, index_keys
from cds_service.auth.replay import (
    MemoryReplayCache,
    RedisReplayCache,
    ReplayCache,
    ReplayCacheUnavailable,
)
from cds_service.auth.verify import (
    AuthFailure,
    ClientIdentity,
    ClientVerifier,
    Reason,
    open_verifier,
)

__all__ = [
    "AuthFailure",
    "ClientIdentity",
    "ClientVerifier",
    "JwksCache",
    "KeysUnavailable",
    "MemoryReplayCache",
    "Reason",
    "RedisReplayCache",
    "ReplayCache",
    "ReplayCacheUnavailable",
    "audiences_for",
    "authenticate",
    "index_keys",
    "open_verifier",
]
