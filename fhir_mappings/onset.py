"""When MS began: the earliest of the MS Conditions' onset, the earliest MS diagnosis
date (condition-assertedDate), the earliest DMT start and the earliest relapse (issue
15; an MS registry's rule reads the same: "use first recorded event as onset, or date
onset in diagnosis, or date of diagnosis failing that", record.md section 9).

A recordedDate says only when the entry was made: the disease is at least that old,
its upper bound unknown. It is the onset only when it is the earliest date there is,
and then `lower_bound_only` is set (a duration "at least X", never "under X").
"""

from __future__ import annotations

from collections.abc import Sequence

from fhir_mappings.conditions import ConditionFacts
from fhir_mappings.facts import DateSpan, DiseaseOnset, DmtExposure, OnsetBasis, Relapse

__all__ = ["disease_onset"]

# Same earliest day: a real date before a recordedDate (which only bounds it).
_PREFERENCE = {
    OnsetBasis.ONSET: 0,
    OnsetBasis.DIAGNOSIS: 1,
    OnsetBasis.RELAPSE: 2,
    OnsetBasis.DMT_START: 3,
    OnsetBasis.RECORDED_DATE: 4,
}


def disease_onset(
    conditions: ConditionFacts, dmts: Sequence[DmtExposure], relapses: Sequence[Relapse]
) -> DiseaseOnset | None:
    """The onset (None when the Conditions state no MS at all)."""
    if not (conditions.diagnoses or conditions.onsets or conditions.recorded):
        return None
    candidates: list[tuple[DateSpan, OnsetBasis, str]] = [
        *((span, OnsetBasis.ONSET, ref) for span, ref in conditions.onsets),
        *((span, OnsetBasis.DIAGNOSIS, ref) for span, ref in conditions.asserted),
        *((d.start, OnsetBasis.DMT_START, d.sources[0]) for d in dmts if d.start and d.sources),
        *((r.on, OnsetBasis.RELAPSE, r.source) for r in relapses if r.on is not None),
        *((span, OnsetBasis.RECORDED_DATE, ref) for span, ref in conditions.recorded),
    ]
    if not candidates:
        return None
    span, basis, ref = min(
        candidates, key=lambda c: (c[0].earliest, _PREFERENCE[c[1]], c[0].latest)
    )
    return DiseaseOnset(
        span=span,
        basis=basis,
        source=ref,
        lower_bound_only=basis is OnsetBasis.RECORDED_DATE,
    )
