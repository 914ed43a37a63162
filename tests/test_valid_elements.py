"""Element values already found valid are remembered by digest: same verdicts, no content."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fhir_mappings import resources
from fhir_mappings.resources import Resource, validate_resource
from fhir_mappings.valid_elements import ValidElements
from tests.builders import med_request, ms_condition
from tests.strategies import damaged_resources


@pytest.fixture(autouse=True)
def fresh_memo() -> Iterator[ValidElements]:
    """Each test starts with an empty memo and leaves the process-wide one as it was."""
    saved = resources.VALID_ELEMENTS
    resources.VALID_ELEMENTS = ValidElements()
    try:
        yield resources.VALID_ELEMENTS
    finally:
        resources.VALID_ELEMENTS = saved


def _verdict(resource: Resource) -> tuple[Any, ...]:
    return (resource.validated, resource.repaired, resource.data, [str(n) for n in resource.notes])


def _without_memo(raw: dict[str, Any]) -> tuple[Any, ...]:
    saved = resources.VALID_ELEMENTS
    resources.VALID_ELEMENTS = ValidElements(max_size=0)
    try:
        return _verdict(validate_resource(raw))
    finally:
        resources.VALID_ELEMENTS = saved


def _observation(rid: str, **elements: Any) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": rid, "status": "final", **elements}


EDSS_CODE = {"coding": [{"system": "http://snomed.info/sct", "code": "273554001"}]}


def test_recurring_elements_are_remembered_and_the_verdict_is_unchanged(
    fresh_memo: ValidElements,
) -> None:
    """A second resource with the same code and subject is validated with them remembered."""
    first = ms_condition("c1")
    assert validate_resource(first).validated
    learned = len(fresh_memo)
    assert learned >= 3  # code, clinicalStatus, verificationStatus, subject...
    second = ms_condition("c2")
    assert _verdict(validate_resource(second)) == _without_memo(second)
    assert len(fresh_memo) == learned  # nothing new: every complex element was known


def test_a_value_valid_at_one_place_is_not_taken_as_valid_at_another() -> None:
    """The place is part of the digest: a Quantity's content is no CodeableConcept."""
    quantity = {"value": 3, "unit": "lesions"}
    assert validate_resource(_observation("o1", code=EDSS_CODE, valueQuantity=quantity)).validated
    misplaced = _observation("o2", code=quantity, valueQuantity=quantity)
    result = validate_resource(misplaced)
    assert _verdict(result) == _without_memo(misplaced)
    assert "Observation/o2 code.value: invalid, dropped" in [str(n) for n in result.notes]


def test_a_resource_that_fails_teaches_nothing(fresh_memo: ValidElements) -> None:
    """When a resource does not validate, none of its elements is remembered as valid."""
    broken = ms_condition("c1", onsetDateTime="yesterday")
    assert validate_resource(broken).repaired
    assert len(fresh_memo) == 0


def test_a_null_in_a_remembered_list_is_still_refused() -> None:
    """A list is remembered whole: the same items plus a null are a different value."""
    concept = {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "1"}]}
    assert validate_resource(med_request("m1", reasonCode=[concept])).validated
    with_null = med_request("m2", reasonCode=[concept, None])
    result = validate_resource(with_null)
    assert _verdict(result) == _without_memo(with_null)
    assert result.notes and not (result.validated and not result.repaired)


def test_only_digests_are_kept_and_the_memo_is_bounded() -> None:
    """Entries are 16-byte digests (no patient content); the memo never outgrows its size."""
    memo = resources.VALID_ELEMENTS = ValidElements(max_size=10)
    for i in range(40):
        validate_resource(ms_condition(f"c{i}", subject={"reference": f"Patient/secret-{i}"}))
        assert len(memo) <= 10
    assert all(isinstance(k, bytes) and len(k) == 16 for k in memo._seen)
    assert not any(b"secret" in k for k in memo._seen)


def test_size_zero_turns_it_off() -> None:
    """With size 0 nothing is remembered and every element is validated each time."""
    memo = resources.VALID_ELEMENTS = ValidElements(max_size=0)
    validate_resource(ms_condition("c1"))
    assert len(memo) == 0


@settings(deadline=None, max_examples=60)
@given(st.lists(damaged_resources(), min_size=1, max_size=12))
def test_damaged_resources_get_the_same_verdict_with_a_warm_memo(raws: list[Any]) -> None:
    """Whatever arrives, a memo warmed by the same and similar resources changes no verdict."""
    resources.VALID_ELEMENTS = ValidElements()
    dicts = [r for r in raws if isinstance(r, dict)]
    expected = [_without_memo(r) for r in dicts]
    for _ in range(2):  # the second round runs with every valid element remembered
        assert [_verdict(validate_resource(r)) for r in dicts] == expected
