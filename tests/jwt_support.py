"""Client keys and JWTs for authentication tests: an EHR that signs its calls."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.conftest import make_settings

ISSUER = "https://ehr.example.org"
JWKS_URL = "https://ehr.example.org/.well-known/jwks.json"
ALLOWED_JKU = "https://ehr.example.org/keys/alt-jwks.json"
HASH_KEY = "test-patient-hash-key-0123456789abcdef"
SERVICE_PATH = "/cds-services/ms-patient-view"
# The public base URL test apps run under (production refuses to start without one, and
# never takes `aud` from the Host header): TestClient's own host, so URLs read naturally.
PUBLIC_BASE_URL = "http://testserver"
SERVICE_URL = PUBLIC_BASE_URL + SERVICE_PATH


@dataclass
class Signer:
    """One signing key of a client: its private half, `kid` and algorithm."""

    alg: str
    kid: str
    private: Any = field(repr=False)

    def jwk(self) -> dict[str, Any]:
        algorithm = jwt.get_algorithm_by_name(self.alg)
        public = json.loads(algorithm.to_jwk(self.private.public_key()))
        return {**public, "kid": self.kid, "alg": self.alg, "use": "sig"}

    def public_pem(self) -> bytes:
        return bytes(
            self.private.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )

    def token(self, claims: dict[str, Any], **header: Any) -> str:
        headers = {"kid": self.kid, "typ": "JWT", **header}
        return jwt.encode(claims, self.private, algorithm=self.alg, headers=headers)


def es384(kid: str = "es-1") -> Signer:
    return Signer("ES384", kid, ec.generate_private_key(ec.SECP384R1()))


def rs384(kid: str = "rs-1") -> Signer:
    return Signer("RS384", kid, rsa.generate_private_key(public_exponent=65537, key_size=2048))


def jwks(*signers: Signer) -> dict[str, Any]:
    return {"keys": [s.jwk() for s in signers]}


def claims(aud: str | list[str] = SERVICE_URL, **overrides: Any) -> dict[str, Any]:
    """Valid claims for a call made now; None in overrides drops a claim."""
    now = int(time.time())
    values: dict[str, Any] = {
        "iss": ISSUER,
        "aud": aud,
        "exp": now + 300,
        "iat": now,
        "jti": str(uuid.uuid4()),
        **overrides,
    }
    return {k: v for k, v in values.items() if v is not None}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_with_public_key(signer: Signer, payload: dict[str, Any]) -> str:
    """The key-confusion attack: HMAC-signed with the client's public key as the secret."""
    header = {"alg": "HS256", "typ": "JWT", "kid": signer.kid}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"
    mac = hmac.new(signer.public_pem(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(mac)}"


def unsigned(signer: Signer, payload: dict[str, Any]) -> str:
    header = {"alg": "none", "typ": "JWT", "kid": signer.kid}
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}."


def production_settings(**overrides: Any) -> Any:
    """Production settings trusting ISSUER (keys at JWKS_URL, ALLOWED_JKU allowed)."""
    values: dict[str, Any] = {
        "dev": False,
        "trusted_issuers": {ISSUER: {"jwks_url": JWKS_URL, "jku": [ALLOWED_JKU]}},
        "patient_hash_key": HASH_KEY,
        "public_base_url": PUBLIC_BASE_URL,
        **overrides,
    }
    return make_settings(**values)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# A client with a static JWKS, for tests of other concerns that need a production app.
STATIC_SIGNER = es384("static-1")
STATIC_ISSUERS: dict[str, Any] = {ISSUER: {"jwks": jwks(STATIC_SIGNER)}}


def signed_headers(path: str) -> dict[str, str]:
    """Authorization for one call to `path` on a TestClient app trusting STATIC_ISSUERS."""
    return bearer(STATIC_SIGNER.token(claims(aud=PUBLIC_BASE_URL + path)))
