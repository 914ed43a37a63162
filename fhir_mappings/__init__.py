"""FHIR R4 -> frozen clinical facts. No HTTP, no rules."""
