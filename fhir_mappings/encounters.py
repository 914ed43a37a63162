"""Encounter -> relapse visits: an Encounter whose reasonCode states an MS relapse
(valuesets/ms_relapse.json, the same words as a relapse Condition) is a Relapse dated
by the visit. Pseudo-relapses and relapses in words of doubt are none; cancelled,
planned and entered-in-error visits did not happen.
"""

from __future__ import annotations

from collections.abc import Iterable

from fhir_mappings.conditions import relapse_matched_by
from fhir_mappings.facts import Relapse, RelapseBasis
from fhir_mappings.reader import Concept, Resource

__all__ = ["relapse_visits"]

_NOT_HELD = {"cancelled", "entered-in-error", "planned"}


def relapse_visits(encounters: Iterable[Resource]) -> list[Relapse]:
    found: list[Relapse] = []
    seen: dict[Concept, str | None] = {}  # this read only
    for encounter in encounters:
        if "reasonCode" not in encounter:
            continue
        matched_by = None
        for reason in encounter.concepts("reasonCode"):
            if reason not in seen:
                seen[reason] = relapse_matched_by(reason)
            matched_by = seen[reason]
            if matched_by is not None:
                break
        if matched_by is None or encounter.code("status") in _NOT_HELD:
            continue
        start, end = encounter.period("period")
        found.append(
            Relapse(
                on=start or end,
                matched_by=matched_by,
                source=encounter.ref,
                basis=RelapseBasis.ENCOUNTER,
            )
        )
    return found
