"""The demo patients: valid R4, coded as the service's value sets code, dated from today."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class

from demo_data import SITUATIONS, build_patient, build_records
from fhir_mappings.valuesets import all_value_sets
from tests.conftest import TODAY

ROOT = Path(__file__).parents[2]
# Codes no value set on main holds yet, each verified in docs/research/record.md.
RESEARCHED = {
    ("http://snomed.info/sct", "25044007"),  # NMOSD
    ("http://hl7.org/fhir/sid/icd-10-cm", "G36.0"),  # NMOSD
    ("http://loinc.org", "82810-3"),  # pregnancy status
    ("http://snomed.info/sct", "77386006"),  # pregnant / pregnancy
}
TERMINOLOGY = "http://terminology.hl7.org/CodeSystem/"  # statuses and categories


def _codings(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        if "code" in value and "system" in value and isinstance(value["code"], str):
            yield value
        for item in value.values():
            yield from _codings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _codings(item)


@pytest.mark.parametrize("situation", SITUATIONS, ids=lambda s: s.id)
def test_every_resource_is_valid_r4(situation: Any) -> None:
    """Every demo resource validates with its fhir.resources R4B model."""
    for resource in build_patient(situation, TODAY):
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def test_ids_are_unique_and_name_their_patient() -> None:
    """Resource ids are unique per type and start with the patient id (readable by id)."""
    records = build_records(SITUATIONS, TODAY)
    keys = [(r["resourceType"], r["id"]) for rs in records.values() for r in rs]
    assert len(keys) == len(set(keys))
    for patient_id, resources in records.items():
        assert resources[0] == {**resources[0], "resourceType": "Patient", "id": patient_id}
        assert all(r["id"].startswith(patient_id) for r in resources)
        assert all(r["subject"] == {"reference": f"Patient/{patient_id}"} for r in resources[1:])


def test_every_code_is_one_the_service_knows_or_one_researched() -> None:
    """Clinical codes come from the value sets (same display) or docs/research/record.md."""
    known = {key: code for vs in all_value_sets().values() for key, code in vs.codes.items()}
    record_md = (ROOT / "docs/research/record.md").read_text(encoding="utf-8")
    seen = set()
    for resources in build_records(SITUATIONS, TODAY).values():
        for coding in _codings(resources):
            key = (coding["system"], coding["code"])
            seen.add(key)
            if coding["system"].startswith(TERMINOLOGY):
                continue
            if key in RESEARCHED:
                assert coding["code"] in record_md
                continue
            assert key in known, key
            assert coding.get("display") == known[key].display, key
    assert seen >= RESEARCHED


def test_patient_names_suit_the_sandbox() -> None:
    """The sandbox joins name[0].given: every demo Patient has a given-name list."""
    for situation in SITUATIONS:
        patient = build_patient(situation, TODAY)[0]
        assert isinstance(patient["name"][0]["given"], list) and patient["name"][0]["given"]


def test_dates_move_with_today() -> None:
    """Built a year later, every date is a year later: the record is dated from today."""
    later = TODAY + timedelta(days=365)
    for situation in SITUATIONS:
        now, then = build_patient(situation, TODAY), build_patient(situation, later)
        for a, b in zip(now[1:], then[1:], strict=True):
            for field in ("authoredOn", "effectiveDateTime", "onsetDateTime", "recordedDate"):
                if field in a:
                    shift = date.fromisoformat(b[field]) - date.fromisoformat(a[field])
                    assert shift == timedelta(days=365)


def test_ages_are_the_described_ages() -> None:
    """A full birth date gives exactly the described age today."""
    for situation in SITUATIONS:
        birth = build_patient(situation, TODAY)[0]["birthDate"]
        if situation.birth_year_only:
            assert birth == str(TODAY.year - situation.age)
            continue
        born = date.fromisoformat(birth)
        age = TODAY.year - born.year - ((TODAY.month, TODAY.day) < (born.month, born.day))
        assert age == situation.age
