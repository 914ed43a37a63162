"""The one lenient reader: elements read as sent, damage skipped and noted, never a value."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from fhir_mappings.facts import ParseNote, Problem
from fhir_mappings.reader import Concept, Reference, Resources, flatten
from tests.builders import bundle, ms_condition

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=8,
)


def _one(raw: dict[str, Any]) -> tuple[Resources, Any]:
    pool = Resources([raw])
    return pool, pool.all[0]


def test_concept_reads_codings_and_texts_whitespace_normalised() -> None:
    """Codes with their systems; text first, then displays; runs of whitespace one space."""
    _, resource = _one(
        {
            "resourceType": "Condition",
            "code": {
                "text": "Relapsing-remitting multiple\nsclerosis",
                "coding": [
                    {"system": "http://snomed.info/sct", "code": "426373005", "display": "RRMS"},
                    {"code": "G35", "display": "Relapsing-remitting  multiple sclerosis"},
                    {"display": "RRMS"},
                ],
            },
        }
    )
    assert resource.concept("code") == Concept(
        codings=(("http://snomed.info/sct", "426373005"), (None, "G35")),
        texts=("Relapsing-remitting multiple sclerosis", "RRMS"),
        folded=("relapsing-remitting multiple sclerosis", "rrms"),
    )


def test_wrong_types_are_skipped_and_noted_by_path() -> None:
    """A string for a concept, a coding that is no object, a date that is no date: each
    is skipped, noted with resource type, id, element path and problem."""
    pool, resource = _one(
        {
            "resourceType": "Observation",
            "id": "o1",
            "code": {"coding": ["x", {"code": 5, "system": "s"}], "text": ["t"]},
            "category": "laboratory",
            "effectiveDateTime": "last Tuesday",
            "issued": 20240101,
            "valueQuantity": {"value": "3.5"},
        }
    )
    assert not resource.concept("code")
    assert resource.concepts("category") == []
    assert resource.date("effectiveDateTime") is None and resource.date("issued") is None
    assert resource.quantity("valueQuantity") is None
    assert [(n.element, n.problem) for n in pool.parse_notes()] == [
        ("code.text", Problem.WRONG_TYPE),
        ("code.coding[0]", Problem.WRONG_TYPE),
        ("code.coding[1].code", Problem.WRONG_TYPE),
        ("category", Problem.WRONG_TYPE),
        ("effectiveDateTime", Problem.INVALID_DATE),
        ("issued", Problem.WRONG_TYPE),
        ("valueQuantity.value", Problem.WRONG_TYPE),
    ]
    assert {(n.resource_type, n.resource_id) for n in pool.parse_notes()} == {("Observation", "o1")}


def test_notes_never_carry_values() -> None:
    """A parse note names the element, never the offending value."""
    pool, resource = _one(ms_condition(onsetDateTime="Jane Doe born 1970-01-01"))
    assert resource.date("onsetDateTime") is None
    (note,) = pool.parse_notes()
    assert note == ParseNote(
        resource_type="Condition",
        resource_id="ms-1",
        element="onsetDateTime",
        problem=Problem.INVALID_DATE,
    )
    assert str(note) == "Condition/ms-1 onsetDateTime: invalid date"
    assert "Jane" not in note.model_dump_json() and "1970" not in note.model_dump_json()


def test_an_element_read_twice_is_noted_once() -> None:
    """Two mappings reading the same bad element make one note."""
    pool, resource = _one({"resourceType": "Condition", "id": "c", "recordedDate": "soon"})
    resource.date("recordedDate")
    resource.date("recordedDate")
    assert len(pool.parse_notes()) == 1


def test_status_reads_r4_concepts_and_stu3_strings() -> None:
    """clinicalStatus as an R4 CodeableConcept or STU3's plain string gives the code."""
    _, r4 = _one(ms_condition(verification="refuted"))
    _, stu3 = _one({"resourceType": "Condition", "verificationStatus": " Refuted "})
    assert r4.status("verificationStatus") == stu3.status("verificationStatus") == "refuted"


def test_references_resolve_in_the_read_then_in_more() -> None:
    """'Type/id', full and versioned URLs resolve; the first resource with an id wins; the
    further resources are indexed only when a reference is not found among the first."""
    first = {"resourceType": "Medication", "id": "m", "code": {"text": "first"}}
    second = {"resourceType": "Medication", "id": "m", "code": {"text": "second"}}
    indexed: list[str] = []

    def more() -> Any:
        indexed.append("record")
        yield {"resourceType": "Condition", "id": "c"}

    pool = Resources([first, second, {"resourceType": "Medication", "id": 5}], more=more())
    found = pool.find("https://ehr.example/fhir/Medication/m/_history/3")
    assert found is not None and found.concept("code").texts == ("first",)
    assert indexed == []
    assert pool.find("Medication/5") is None and indexed == ["record"]
    assert pool.find("Condition/c") is not None
    assert [pool.find(r) for r in ("/", "Condition/", "/c", "x", None)] == [None] * 5
    assert len(pool.of_type("Medication")) == 3 and pool.of_type("Condition") == []


def test_contained_references_resolve_in_the_resource() -> None:
    """'#id' resolves to a contained resource of the one that refers to it, nowhere else."""
    _, resource = _one(
        {
            "resourceType": "MedicationRequest",
            "contained": [{"resourceType": "Medication", "id": "x", "code": {"text": "MSC"}}],
        }
    )
    contained = resource.resolve(Reference("#x", None))
    assert contained is not None and contained.ref == "Medication/x"
    assert resource.resolve(Reference("#y", None)) is None


def test_flatten_reads_bundles_nested_bundles_and_skips_junk() -> None:
    """A resource is itself; a Bundle's entries (nested Bundles too); junk entries skipped."""
    inner = bundle({"resourceType": "Condition", "id": "b"})
    outer = bundle({"resourceType": "Condition", "id": "a"}, inner)
    outer["entry"] += ["junk", {"resource": 7}, {}]
    assert [r["id"] for r in flatten(outer)] == ["a", "b"]
    assert flatten({"resourceType": "Patient"}) == [{"resourceType": "Patient"}]
    assert flatten([1]) == [] and flatten({"resourceType": "Bundle", "entry": "x"}) == []


@given(value=JSON_VALUES)
def test_no_value_anywhere_makes_a_reader_raise(value: Any) -> None:
    """Whatever JSON sits at an element, every reader returns or notes; none raises."""
    names = ["code", "status", "date", "period", "ref", "part", "n"]
    raw: dict[str, Any] = {"resourceType": "Observation", "id": "o", **dict.fromkeys(names, value)}
    pool, resource = _one(raw)
    for name in names:
        resource.concept(name)
        resource.concepts(name, lone=True)
        resource.string(name)
        resource.code(name)
        resource.status(name)
        resource.date(name)
        resource.period(name)
        resource.reference(name)
        resource.references(name)
        resource.quantity(name)
        resource.number(name)
        resource.integer(name)
        for child in resource.children(name):
            child.concept("code")
        resource.resolve(resource.reference(name))
    for note in pool.parse_notes():
        assert note.resource_type == "Observation" and isinstance(note.problem, Problem)


def test_a_read_leaves_nothing_for_the_cyclic_collector() -> None:
    """Resources, their elements and notes form no reference cycles: a request's objects
    are freed as soon as the read is dropped, not when the garbage collector runs."""
    import gc

    raw = {
        "resourceType": "MedicationRequest",
        "id": "m",
        "medicationReference": {"reference": "#x"},
        "contained": [{"resourceType": "Medication", "id": "x", "code": {"text": "MSC"}}],
        "dosageInstruction": [{"timing": {"repeat": {"boundsPeriod": {"start": "x"}}}}],
    }
    gc.collect()
    gc.disable()
    try:
        pool = Resources([raw], more=iter([{"resourceType": "Condition", "id": "c"}]))
        (resource,) = pool.all
        medication = resource.resolve(resource.reference("medicationReference"))
        assert medication is not None and medication.concept("code")
        for dosage in resource.children("dosageInstruction"):
            timing = dosage.child("timing")
            repeat = timing.child("repeat") if timing else None
            assert repeat is not None and repeat.period("boundsPeriod") == (None, None)
        assert pool.find("Condition/c") is not None and pool.parse_notes()
        del pool, resource, medication, dosage, timing, repeat
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_unique_reads_each_resource_once_by_id_or_content() -> None:
    """unique=True: the same 'Type/id' or the same id-less content is indexed once, in order."""
    first = {"resourceType": "Observation", "id": "a", "status": "final"}
    again = {"resourceType": "Observation", "id": "a", "status": "amended"}
    other_type = {"resourceType": "Condition", "id": "a"}
    no_id = {"resourceType": "Observation", "status": "final"}
    pool = Resources([first, again, other_type, no_id, dict(no_id), {"id": "x"}], unique=True)
    assert [(r.type, r.id, r.string("status")) for r in pool.all] == [
        ("Observation", "a", "final"),
        ("Condition", "a", None),
        ("Observation", None, "final"),
    ]
    assert len(Resources([first, again, no_id, dict(no_id)]).all) == 4  # not asked: all kept
