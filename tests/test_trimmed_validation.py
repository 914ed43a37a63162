"""Validation of the elements the mappings read (the fast path) and the per-request concept memo."""

from __future__ import annotations

from datetime import date

from fhir_mappings import coding
from fhir_mappings.build import PatientRecord, derive_facts
from fhir_mappings.resources import USED_ELEMENTS, validate_resource
from tests.builders import med_request, ms_condition

TODAY = date(2026, 11, 25)


def test_valid_resource_is_read_through_its_validated_used_elements() -> None:
    """A valid Condition is validated and read without the elements no mapping reads."""
    raw = ms_condition(meta={"versionId": "1"}, note=[{"text": "free text"}])
    resource = validate_resource(raw)
    assert resource.validated and not resource.repaired and not resource.notes
    assert "note" not in resource.data and "meta" not in resource.data
    assert resource.data["code"] == raw["code"] and resource.data["id"] == raw["id"]
    assert set(resource.data) <= USED_ELEMENTS["Condition"] | {"resourceType", "id"}


def test_invalid_unread_element_does_not_block_validation() -> None:
    """An invalid element no mapping reads (meta) neither fails nor repairs the resource."""
    resource = validate_resource(ms_condition(meta={"lastUpdated": "not a date"}))
    assert resource.validated and not resource.repaired and not resource.notes


def test_invalid_read_element_takes_the_full_repair_path() -> None:
    """An invalid element the mappings read is dropped and noted, as before the fast path."""
    raw = ms_condition(onsetDateTime="yesterday", meta={"versionId": "1"})
    resource = validate_resource(raw)
    assert resource.validated and resource.repaired
    assert "onsetDateTime" not in resource.data and "meta" in resource.data
    assert [str(n) for n in resource.notes] == ["Condition/ms-1 onsetDateTime: invalid, dropped"]


def test_element_unknown_to_r4b_is_still_refused() -> None:
    """An element the R4B model does not know (R5 `medication`) is never trimmed away silently."""
    raw = med_request("m1", text="Remestemcel-L", medication={"concept": {"text": "MSC"}})
    resource = validate_resource(raw)
    assert resource.repaired
    assert "MedicationRequest/m1 medication: invalid, dropped" in [str(n) for n in resource.notes]


def test_concept_memo_is_empty_after_each_mapping() -> None:
    """The codings/texts memo keeps nothing of a request once its facts are derived."""
    record = PatientRecord("p1", {"conditions": ms_condition()})
    facts = derive_facts(record, TODAY).facts
    assert facts.ms_diagnoses
    assert coding._memo == {}
