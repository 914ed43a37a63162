"""Procedure -> prior autologous haematopoietic stem cell transplantation (AHSCT).

Codes flagged `prior_ahsct` in valuesets/hsct.json (SNOMED 234336002, 425983008,
58776007; CPT 38241; ICD-10-PCS 30243Y0/30233Y0) or haematopoietic transplant
text. Allogeneic transplants (CPT 38240, or "allogeneic" in text) are not AHSCT.
Procedures not done, or entered in error, do not count.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from fhir_mappings.facts import PriorAhsct
from fhir_mappings.reader import Concept, Resource
from fhir_mappings.valuesets import load

__all__ = ["prior_ahsct"]

_NOT_DONE = {"not-done", "entered-in-error", "preparation", "unknown"}
_ALLOGENEIC = re.compile(r"\ballo(geneic|gen|-?hsct)\b", re.IGNORECASE)


def _ahsct(concept: Concept) -> str | None:
    hsct = load("hsct")
    for system, code in concept.codings:
        found = hsct.lookup(system, code)
        if found is not None:
            return f"{found.system}|{found.code}" if found.attributes.get("prior_ahsct") else None
    if any(_ALLOGENEIC.search(t) for t in concept.texts):
        return None
    return "text" if any(hsct.matches(t) for t in concept.texts) else None


def prior_ahsct(procedures: Iterable[Resource]) -> list[PriorAhsct]:
    found: list[PriorAhsct] = []
    for procedure in procedures:
        matched_by = _ahsct(procedure.concept("code"))
        if matched_by is None or procedure.code("status") in _NOT_DONE:
            continue
        when = procedure.date("performedDateTime") or procedure.period("performedPeriod")[0]
        found.append(PriorAhsct(on=when, matched_by=matched_by, source=procedure.ref))
    return found
