"""The site's own orderable codes for what cards propose (the CDS_ORDER_CODES_FILE setting).

Epic creates an unsigned order from a suggestion only when the resource carries one of
Epic's own codes (its medication or procedure ids); standard codes alone are not enough.
A site therefore maps each proposal to its orderable, in a JSON or YAML file:

    system: urn:oid:1.2.840.114350.1.13.999.2.7.2.698288   # default for the entries
    orders:
      ocrelizumab: {code: "123456", display: "OCRELIZUMAB 300 MG/10 ML IV SOLN"}
      ahsctReferral: {code: "REF1234", system: "urn:oid:...", display: "Referral to BMT"}

Keys are the proposals: a DMT ingredient as named in the DMT value set (any the cards
may propose), or `ahsctReferral`. The site's coding comes first in the proposed
resource, the standard codes (RxNorm, SNOMED CT) after it. The file is read and checked
once, at start-up; a bad file stops the service with a line saying what is wrong.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from fhir_mappings.valuesets import load

__all__ = ["REFERRAL_KEY", "OrderablesError", "SiteCode", "load_orderables", "proposal_keys"]

REFERRAL_KEY = "ahsctReferral"
_URI = r"(?i)^(urn:[a-z0-9][a-z0-9-]*:\S+|https?://\S+)$"
_RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


class OrderablesError(ValueError):
    """The site's orderable-code file cannot be read or does not validate."""


class SiteCode(BaseModel):
    """One proposal's orderable at this site: a FHIR Coding."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    system: str = Field(pattern=_URI)
    code: str = Field(min_length=1, max_length=200)
    display: str | None = Field(default=None, min_length=1, max_length=500)

    def coding(self) -> dict[str, str]:
        out = {"system": self.system, "code": self.code}
        if self.display:
            out["display"] = self.display
        return out


@cache
def proposal_keys() -> frozenset[str]:
    """Every key a site may map: each DMT ingredient with an RxNorm code, and the referral."""
    ingredients = {
        entry.attributes["ingredient"]
        for (system, _code), entry in load("dmt").codes.items()
        if system == _RXNORM and entry.attributes.get("kind") == "ingredient"
    }
    return frozenset({REFERRAL_KEY, *ingredients})


def _yaml(text: str) -> Any:
    import yaml  # only a site's YAML file needs it: not imported at start-up

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(str(exc)) from exc


def _read(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise OrderablesError(f"cannot read {path}: {exc.__class__.__name__}") from None
    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            return json.loads(text)
        if suffix in (".yaml", ".yml"):
            return _yaml(text)
    except ValueError as exc:
        raise OrderablesError(f"{path} is not valid {suffix[1:].upper()}: {exc}") from None
    raise OrderablesError(f"{path}: the file must end in .json, .yaml or .yml")


def load_orderables(path: Path) -> dict[str, SiteCode]:
    """The site's codes by proposal key, or OrderablesError naming what is wrong."""
    data = _read(path)
    if not isinstance(data, dict) or not isinstance(data.get("orders"), dict):
        raise OrderablesError(f"{path}: expected an object with an 'orders' object")
    unknown = set(data) - {"system", "orders"}
    if unknown:
        raise OrderablesError(f"{path}: unknown top-level keys {sorted(unknown)}")
    default_system = data.get("system")
    known = proposal_keys()
    codes: dict[str, SiteCode] = {}
    for key, entry in data["orders"].items():
        if key not in known:
            raise OrderablesError(
                f"{path}: orders.{key} is not a proposal; known: {', '.join(sorted(known))}"
            )
        if not isinstance(entry, dict):
            raise OrderablesError(f"{path}: orders.{key} must be an object with 'code'")
        fields = {"system": default_system, **entry} if default_system else entry
        if isinstance(fields.get("code"), int):
            fields = {**fields, "code": str(fields["code"])}  # YAML reads 123456 as a number
        try:
            codes[key] = SiteCode.model_validate(fields)
        except ValueError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                for e in getattr(exc, "errors", lambda: [])()
            )
            raise OrderablesError(f"{path}: orders.{key}: {problems or exc}") from None
    return codes
