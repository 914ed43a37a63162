"""Mapping options: how FHIR data is read into facts. Filled from settings at the edge."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from fhir_mappings.facts import EfficacyClass

__all__ = ["MappingConfig"]


class MappingConfig(BaseModel):
    """`s1p_class`: the efficacy class given to S1P modulators (fingolimod, siponimod,
    ozanimod, ponesimod). `mri_*_codes`: local Observation codes ("system|code")
    for MRI lesion counts, which have no standard code. `dmt_window_months`: months
    after a dose a patient counts as on the drug, replacing the label window of
    valuesets/dmt_windows.json for the ingredients named (rituximab has no MS label).
    `onset_months`: the onset of effect of a DMT whose label gives none (activity before
    start + this is not its failure): the same setting as the rules' failure delay.
    `edss_relapse_days`: an EDSS this many days or fewer after a relapse onset is "during a
    relapse" (issue 15)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    s1p_class: EfficacyClass = EfficacyClass.PLATFORM
    mri_gd_codes: frozenset[str] = frozenset()
    mri_new_t2_codes: frozenset[str] = frozenset()
    dmt_window_months: dict[str, int] = Field(default_factory=dict)
    onset_months: int = 6
    edss_relapse_days: int = Field(30, ge=0)
