"""Procedure -> prior autologous haematopoietic stem cell transplantation (AHSCT).

Codes flagged `prior_ahsct` in valuesets/hsct.json (SNOMED 234336002, 425983008,
58776007; CPT 38241; ICD-10-PCS 30243Y0/30233Y0) or haematopoietic transplant
text. Allogeneic transplants (CPT 38240, or "allogeneic" in text) are not AHSCT.
Procedures not done, or entered in error, do not count.
"""

from __future__ import annotations

import re
from typing import Any

from fhir_mappings.coding import codings, concept_texts, first_str
from fhir_mappings.dates import parse_span
from fhir_mappings.facts import PriorAhsct
from fhir_mappings.resources import ResourcePool
from fhir_mappings.valuesets import load

__all__ = ["prior_ahsct"]

_NOT_DONE = {"not-done", "entered-in-error", "preparation", "unknown"}
_ALLOGENEIC = re.compile(r"\ballo(geneic|gen|-?hsct)\b", re.IGNORECASE)


def _ahsct(concept: Any) -> str | None:
    hsct = load("hsct")
    for system, code, _ in codings(concept):
        found = hsct.lookup(system, code)
        if found is not None:
            return f"{found.system}|{found.code}" if found.attributes.get("prior_ahsct") else None
    texts = concept_texts(concept)
    if any(_ALLOGENEIC.search(t) for t in texts):
        return None
    return "text" if any(hsct.match_text(t) for t in texts) else None


def prior_ahsct(pool: ResourcePool) -> list[PriorAhsct]:
    found: list[PriorAhsct] = []
    for raw in pool.record("Procedure"):
        if _ahsct(raw.get("code")) is None:
            continue
        resource = pool.get(raw)
        data = resource.data
        matched_by = _ahsct(data.get("code"))
        status = (first_str(data.get("status")) or "").lower()
        if matched_by is None or status in _NOT_DONE:
            continue
        period = data.get("performedPeriod")
        when = parse_span(data.get("performedDateTime")) or (
            parse_span(period.get("start")) if isinstance(period, dict) else None
        )
        found.append(PriorAhsct(on=when, matched_by=matched_by, source=resource.ref))
    return found
