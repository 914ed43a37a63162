"""Procedure / ServiceRequest -> documented refusals of AHSCT or a DMT by the patient.

A Procedure not done, or a ServiceRequest revoked, whose statusReason, reasonCode
or note says the patient declined (SNOMED refusal situations or words, data in
valuesets/dmt_stop_reasons.json). The option is "ahsct" when the code or text names
haematopoietic stem cell transplantation (valuesets/hsct.json), else the DMT named.
Medication records' refusals are read with their exposures (medications.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from fhir_mappings.config import MappingConfig
from fhir_mappings.facts import Refusal
from fhir_mappings.medications import dmt_of
from fhir_mappings.reader import Concept, Resource
from fhir_mappings.reasons import reasons_of
from fhir_mappings.textcap import matched_part
from fhir_mappings.valuesets import load

__all__ = ["procedure_refusals"]

_REFUSABLE = {"Procedure": {"not-done"}, "ServiceRequest": {"revoked"}}
_ALLOGENEIC = re.compile(r"\ballo(geneic|gen|-?hsct)\b", re.IGNORECASE)  # as procedures.py


def _names_hsct(concept: Concept) -> bool:
    hsct = load("hsct")
    if any(_ALLOGENEIC.search(matched_part(text)) for text in concept.texts):
        return False  # an allogeneic transplant declined is no AHSCT refusal
    if any(hsct.lookup(system, code) is not None for system, code in concept.codings):
        return True
    return any(hsct.matches(text) for text in concept.texts)


def _option(resource: Resource, config: MappingConfig) -> str | None:
    code = resource.concept("code")
    if _names_hsct(code):
        return "ahsct"
    found = dmt_of([code], config)
    return found[0] if found is not None else None


def procedure_refusals(resources: Iterable[Resource], config: MappingConfig) -> list[Refusal]:
    found: list[Refusal] = []
    for resource in resources:
        if resource.code("status") not in _REFUSABLE.get(resource.type, set()):
            continue
        option = _option(resource, config)
        if option is None or not reasons_of(resource, with_reason_code=True).refusal:
            continue
        when = (
            resource.date("performedDateTime")
            or resource.period("performedPeriod")[0]
            or resource.date("authoredOn")
        )
        found.append(Refusal(option=option, on=when, source=resource.ref))
    return found
