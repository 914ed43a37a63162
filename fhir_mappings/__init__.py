"""FHIR R4 -> frozen clinical facts. No HTTP, no rules.

`read_drafts` reads a request's draft orders, `read_patient` the patient's record;
both read resources as sent through `reader` (lenient, typed parse notes).
"""

from fhir_mappings.build import DraftReading, PatientRecord, read_drafts, read_patient
from fhir_mappings.config import MappingConfig
from fhir_mappings.facts import DraftOrder, ParseNote, PatientFacts, Problem

__all__ = [
    "DraftOrder",
    "DraftReading",
    "MappingConfig",
    "ParseNote",
    "PatientFacts",
    "PatientRecord",
    "Problem",
    "read_drafts",
    "read_patient",
]
