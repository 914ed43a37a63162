"""Keyed hashes of patient ids: what logs and the card ledger keep instead of the id.

`patient_hash(patient_id, key)` is HMAC-SHA256 with a secret key
(`Settings.patient_hash_secret()`), as lowercase hex. Keyed, so nobody without the
key can recompute it from a guessed id (a plain hash of an MRN-like id is easily
reversed by trying every id); stable for a given key, so log lines and ledger
rows of one patient can be joined. Rotating the key breaks that join: keep it
the same across restarts and replicas.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["patient_hash"]


def patient_hash(patient_id: str, key: bytes | str) -> str:
    """HMAC-SHA256 of the patient id under `key`, as 64 hex characters."""
    key_bytes = key.encode("utf-8") if isinstance(key, str) else key
    if not key_bytes:
        raise ValueError("the patient hash key must not be empty")
    return hmac.new(key_bytes, patient_id.encode("utf-8"), hashlib.sha256).hexdigest()
