"""Keyed pseudonyms: a patient id never leaves the request, only its HMAC-SHA256."""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["patient_hash"]


def patient_hash(patient_id: str, key: str | bytes) -> str:
    """Hex HMAC-SHA256 of the patient id under a secret key: linkable, not reversible."""
    key_bytes = key.encode("utf-8") if isinstance(key, str) else key
    return hmac.new(key_bytes, patient_id.encode("utf-8"), hashlib.sha256).hexdigest()
