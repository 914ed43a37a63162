"""Client authentication (CDS Hooks 2.0 "Trusting CDS Clients"): only real EHRs get answers.

Every service and feedback call carries `Authorization: Bearer <JWT>`, signed by
the client with an asymmetric key it publishes as a JWK Set. `ClientVerifier`
checks, in this order, and stops at the first failure:

1. the header: `alg` in `Settings.jwt_algorithms` (never `none` or HS*), `kid`,
   `typ` "JWT";
2. `iss` is a trusted issuer (`Settings.trusted_issuers`); a `jku` header must be
   on that issuer's allowlist, checked before anything is fetched;
3. the key: by `kid` from the issuer's JWKS (cached, refetched once on an unknown
   kid: `auth.jwks`), of the type and size the algorithm needs;
4. the signature, and claims `iss`, `aud`, `exp`, `iat`, `jti` present; `aud` is
   the called service URL (from `Settings.public_base_url` behind a proxy) or one
   of `Settings.audience`;
5. times, with `Settings.jwt_leeway_seconds` of skew: not expired, `nbf` reached,
   `iat` not in the future, lifetime at most `jwt_max_lifetime_seconds`;
6. `jti` never seen before (`auth.replay`), recorded until `exp`.

Any failure is a bare 401 (`errors.Unauthorized`, see `auth.client.authenticate`);
the reason is logged and counted as a stable code (`Reason`), never the token.
`open_verifier` builds the verifier for the app's lifespan (none in development).
PyJWT and cryptography are imported with it: a development server, which verifies no
client, starts without them.
"""

from __future__ import annotations

import importlib
import json
import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import httpx

from cds_service.auth.jwks import JwksCache, KeysUnavailable, index_keys
from cds_service.auth.replay import MemoryReplayCache, RedisReplayCache, ReplayCache
from cds_service.config.settings import Settings, TrustedIssuer

__all__ = [
    "AuthFailure",
    "ClientIdentity",
    "ClientVerifier",
    "Reason",
    "client_owner",
    "open_verifier",
]

log = logging.getLogger("ms_cds.auth")

MAX_TOKEN_CHARS = 8192
MAX_JTI_CHARS = 256
MAX_ID_CLAIM_CHARS = 256  # sub, tenant: stored with each card and feedback item
MIN_RSA_BITS = 2048
REQUIRED_CLAIMS = ("iss", "aud", "exp", "iat", "jti")


class Reason(StrEnum):
    """Why a client was refused: a stable code for logs and metrics."""

    MISSING_TOKEN = "missing_token"  # noqa: S105 (a reason code, not a secret)
    MALFORMED = "malformed"
    BAD_ALG = "bad_alg"
    MISSING_KID = "missing_kid"
    BAD_TYP = "bad_typ"
    UNKNOWN_ISSUER = "unknown_issuer"
    JKU_NOT_ALLOWED = "jku_not_allowed"
    KEYS_UNAVAILABLE = "keys_unavailable"
    UNKNOWN_KID = "unknown_kid"
    BAD_KEY = "bad_key"
    BAD_SIGNATURE = "bad_signature"
    MISSING_CLAIM = "missing_claim"
    BAD_CLAIM = "bad_claim"
    WRONG_AUDIENCE = "wrong_audience"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    IAT_IN_FUTURE = "iat_in_future"
    LIFETIME_TOO_LONG = "lifetime_too_long"
    REPLAYED_JTI = "replayed_jti"
    NOT_READY = "not_ready"


class AuthFailure(Exception):
    def __init__(self, reason: Reason, detail: str | None = None) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.detail = detail  # a claim or header name, never a value


@dataclass(frozen=True)
class ClientIdentity:
    """A verified caller."""

    issuer: str
    key_id: str
    jti: str
    expires_at: float
    tenant: str | None = None
    client_id: str | None = None  # the `sub` claim: the CDS Client's client_id

    @property
    def owner(self) -> str:
        """Who this client is for the card ledger and feedback: issuer, client id and
        tenant, canonical (a client may give feedback only on cards it was sent)."""
        return client_owner(self.issuer, self.client_id, self.tenant)


def client_owner(issuer: str, client_id: str | None, tenant: str | None) -> str:
    """The stored client identity; "" is no verified client (development mode)."""
    return json.dumps([issuer, client_id, tenant], separators=(",", ":"), ensure_ascii=True)


def _number(payload: dict[str, Any], claim: str) -> float:
    value = payload.get(claim)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise AuthFailure(Reason.BAD_CLAIM, claim)
    return float(value)


class ClientVerifier:
    def __init__(
        self,
        settings: Settings,
        jwks: JwksCache,
        replay: ReplayCache,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._issuers = settings.trusted_issuers
        self._algorithms = frozenset(settings.jwt_algorithms)
        self._leeway = settings.jwt_leeway_seconds
        self._max_lifetime = settings.jwt_max_lifetime_seconds
        self._jwks = jwks
        self.replay = replay
        self._clock = clock
        self._static = {
            iss: index_keys(issuer.jwks)
            for iss, issuer in self._issuers.items()
            if issuer.jwks is not None
        }

    async def verify(self, token: str, audiences: Sequence[str]) -> ClientIdentity:
        if not token or len(token) > MAX_TOKEN_CHARS:
            raise AuthFailure(Reason.MALFORMED)
        alg, kid, jku = self._check_header(token)
        issuer_id, issuer = self._trusted_issuer(token)
        if jku is not None and jku not in issuer.jku:
            raise AuthFailure(Reason.JKU_NOT_ALLOWED)
        jwk = await self._find_key(issuer_id, issuer, kid, jku)
        payload = self._decode(token, self._public_key(jwk, alg), alg, issuer_id, audiences)
        return await self._check_claims(payload, issuer_id, kid)

    def _check_header(self, token: str) -> tuple[str, str, str | None]:
        import jwt

        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthFailure(Reason.MALFORMED) from None
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self._algorithms:
            raise AuthFailure(Reason.BAD_ALG)
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthFailure(Reason.MISSING_KID)
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.upper() != "JWT":
            raise AuthFailure(Reason.BAD_TYP)
        jku = header.get("jku")
        if jku is not None and not isinstance(jku, str):
            raise AuthFailure(Reason.JKU_NOT_ALLOWED)
        return alg, kid, jku

    def _trusted_issuer(self, token: str) -> tuple[str, TrustedIssuer]:
        import jwt

        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise AuthFailure(Reason.MALFORMED) from None
        iss = unverified.get("iss")
        if not isinstance(iss, str):
            raise AuthFailure(Reason.MISSING_CLAIM, "iss")
        issuer = self._issuers.get(iss)
        if issuer is None:
            raise AuthFailure(Reason.UNKNOWN_ISSUER)
        return iss, issuer

    async def _find_key(
        self, issuer_id: str, issuer: TrustedIssuer, kid: str, jku: str | None
    ) -> dict[str, Any]:
        url = jku or issuer.jwks_url
        if url is None:
            key = self._static[issuer_id].get(kid)
        else:
            try:
                key = await self._jwks.key(url, kid)
            except KeysUnavailable:
                raise AuthFailure(Reason.KEYS_UNAVAILABLE) from None
        if key is None:
            raise AuthFailure(Reason.UNKNOWN_KID)
        return key

    def _public_key(self, jwk: dict[str, Any], alg: str) -> Any:
        import jwt
        from cryptography.hazmat.primitives.asymmetric import ec, rsa

        curves = {"ES256": ec.SECP256R1, "ES384": ec.SECP384R1, "ES512": ec.SECP521R1}
        if "alg" in jwk and jwk["alg"] != alg:
            raise AuthFailure(Reason.BAD_KEY)
        try:
            key = jwt.PyJWK(jwk, algorithm=alg).key
        except (jwt.PyJWTError, ValueError, TypeError):
            raise AuthFailure(Reason.BAD_KEY) from None
        if alg in curves:
            if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(
                key.curve, curves[alg]
            ):
                raise AuthFailure(Reason.BAD_KEY)
        elif not isinstance(key, rsa.RSAPublicKey) or key.key_size < MIN_RSA_BITS:
            raise AuthFailure(Reason.BAD_KEY)
        return key

    def _decode(
        self, token: str, key: Any, alg: str, issuer_id: str, audiences: Sequence[str]
    ) -> dict[str, Any]:
        import jwt

        try:
            payload: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=[alg],
                audience=list(audiences),
                issuer=issuer_id,
                # Times are checked below against one clock, each with its own reason.
                options={
                    "require": list(REQUIRED_CLAIMS),
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.InvalidSignatureError:
            raise AuthFailure(Reason.BAD_SIGNATURE) from None
        except jwt.MissingRequiredClaimError as exc:
            raise AuthFailure(Reason.MISSING_CLAIM, exc.claim) from None
        except jwt.InvalidAudienceError:
            raise AuthFailure(Reason.WRONG_AUDIENCE) from None
        except jwt.InvalidIssuerError:
            raise AuthFailure(Reason.UNKNOWN_ISSUER) from None
        except jwt.InvalidAlgorithmError:
            raise AuthFailure(Reason.BAD_ALG) from None
        except jwt.PyJWTError:
            raise AuthFailure(Reason.MALFORMED) from None
        return payload

    async def _check_claims(self, payload: dict[str, Any], issuer: str, kid: str) -> ClientIdentity:
        now = self._clock()
        exp, iat = _number(payload, "exp"), _number(payload, "iat")
        if exp <= now - self._leeway:
            raise AuthFailure(Reason.EXPIRED)
        if "nbf" in payload and _number(payload, "nbf") > now + self._leeway:
            raise AuthFailure(Reason.NOT_YET_VALID)
        if iat > now + self._leeway:
            raise AuthFailure(Reason.IAT_IN_FUTURE)
        if exp - iat > self._max_lifetime:
            raise AuthFailure(Reason.LIFETIME_TOO_LONG)
        jti, tenant, sub = payload.get("jti"), payload.get("tenant"), payload.get("sub")
        if not isinstance(jti, str) or not jti or len(jti) > MAX_JTI_CHARS:
            raise AuthFailure(Reason.BAD_CLAIM, "jti")
        for name, value in (("tenant", tenant), ("sub", sub)):
            too_long = isinstance(value, str) and len(value) > MAX_ID_CLAIM_CHARS
            if value is not None and (not isinstance(value, str) or too_long):
                raise AuthFailure(Reason.BAD_CLAIM, name)
        if not await self.replay.first_use(issuer, jti, exp + self._leeway):
            raise AuthFailure(Reason.REPLAYED_JTI)
        return ClientIdentity(
            issuer=issuer, key_id=kid, jti=jti, expires_at=exp, tenant=tenant, client_id=sub
        )


@asynccontextmanager
async def open_verifier(settings: Settings) -> AsyncIterator[ClientVerifier | None]:
    """Lifespan part: the production verifier with its JWKS client and replay cache,
    closed on the way out; None in development (no client is verified)."""
    if settings.dev:
        log.warning(
            "DEVELOPMENT MODE: client JWT verification is OFF - any caller is trusted. "
            "Never expose this server to a network."
        )
        yield None
        return
    # Loaded now, so that the first verified call does not pay for the imports.
    importlib.import_module("jwt")
    importlib.import_module("cryptography.hazmat.primitives.asymmetric.rsa")
    http = httpx.AsyncClient(timeout=settings.jwks_timeout_seconds, follow_redirects=False)
    replay: ReplayCache = (
        RedisReplayCache(settings.redis_url) if settings.redis_url else MemoryReplayCache()
    )
    cache = JwksCache(
        http,
        ttl=settings.jwks_cache_seconds,
        refetch_interval=settings.jwks_refetch_interval_seconds,
        timeout=settings.jwks_timeout_seconds,
    )
    log.info(
        "client JWT verification on",
        extra={
            "issuers": len(settings.trusted_issuers),
            "replay_cache": "redis" if settings.redis_url else "memory",
        },
    )
    try:
        yield ClientVerifier(settings, cache, replay)
    finally:
        await replay.close()
        await cache.aclose()
        await http.aclose()
