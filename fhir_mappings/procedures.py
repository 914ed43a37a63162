"""Procedure -> prior haematopoietic stem cell transplantation (AHSCT).

Codes flagged `prior_ahsct` in valuesets/hsct.json (SNOMED 234336002, 425983008,
58776007; CPT 38241; ICD-10-PCS 30243Y0/30233Y0) or haematopoietic transplant
text ("autologous stem cell transplant"). Allogeneic transplants (CPT 38240, or
"allogeneic" in text) are not AHSCT, and a mesenchymal (MSC) or stromal cell
procedure never is one. Procedures not done, or entered in error, do not count.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from fhir_mappings.facts import PriorAhsct
from fhir_mappings.reader import Concept, Resource
from fhir_mappings.textcap import matched_part
from fhir_mappings.valuesets import load

__all__ = ["prior_ahsct"]

_NOT_DONE = {"not-done", "entered-in-error", "preparation", "unknown"}
_ALLOGENEIC = re.compile(r"\ballo(geneic|gen|-?hsct)\b", re.IGNORECASE)
_MESENCHYMAL = re.compile(r"mesenchymal|\bmscs?\b|stromal", re.IGNORECASE)
_AUTOLOGOUS = re.compile(r"\bautologous\b|\bahsct\b|\bauto-?hsct\b", re.IGNORECASE)


def _ahsct(concept: Concept) -> tuple[str, bool | None] | None:
    """(matched_by, autologous) for an HSCT procedure, else None. The wording checks run
    only on a procedure matched as HSCT (most are not)."""
    hsct = load("hsct")
    texts = [matched_part(t) for t in concept.texts]  # up to the matched length
    for system, code in concept.codings:
        found = hsct.lookup(system, code)
        if found is not None:
            if not found.attributes.get("prior_ahsct"):
                return None
            autologous = "autologous" in found.display.lower() or _said_autologous(texts)
            return f"{found.system}|{found.code}", True if autologous else None
    if not any(hsct.matches(t) for t in concept.texts):
        return None
    if any(_ALLOGENEIC.search(t) or _MESENCHYMAL.search(t) for t in texts):
        return None
    return "text", True if _said_autologous(texts) else None


def _said_autologous(texts: list[str]) -> bool:
    return any(_AUTOLOGOUS.search(t) for t in texts)


def prior_ahsct(procedures: Iterable[Resource]) -> list[PriorAhsct]:
    found: list[PriorAhsct] = []
    for procedure in procedures:
        matched = _ahsct(procedure.concept("code"))
        if matched is None or procedure.code("status") in _NOT_DONE:
            continue
        when = procedure.date("performedDateTime") or procedure.period("performedPeriod")[0]
        matched_by, autologous = matched
        found.append(
            PriorAhsct(on=when, matched_by=matched_by, source=procedure.ref, autologous=autologous)
        )
    return found
