"""Age from Patient.birthDate, partial dates included, on a frozen evaluation date."""

from __future__ import annotations

from datetime import date

import pytest

from tests.records import facts_of

TODAY = date(2026, 11, 25)


@pytest.mark.parametrize(
    ("birth", "below_45"),
    [
        ("1981-11-26", True),  # 44.99 years: one day before the 45th birthday
        ("1981-11-25", False),  # 45 today
        ("1982-06", True),  # 44 whatever the day
        ("1981-11", None),  # 44 or 45: cannot decide
        ("1980-06", False),  # 46 whatever the day
        ("1981", None),  # 44 or 45
        ("1985", True),  # 40 or 41
        ("1970", False),
    ],
)
def test_age_threshold_from_full_and_partial_birth_dates(birth: str, below_45: bool | None) -> None:
    """Age < 45 is decided from the birth date, or unknown when a partial date straddles it."""
    facts = facts_of(birth=birth, today=TODAY)
    assert facts.age is not None
    assert facts.age.below(45) is below_45
    assert facts.age.source == "Patient/pat-1"


def test_partial_birth_date_gives_a_year_range_and_no_date() -> None:
    """A year-only birth date becomes a range of whole years; the date itself is not kept."""
    facts = facts_of(birth="1981", today=TODAY)
    assert facts.age is not None
    assert (facts.age.min_years, facts.age.max_years, facts.age.precision) == (44, 45, "year")
    assert "1981" not in facts.model_dump_json()


def test_missing_or_unreadable_birth_date_gives_no_age() -> None:
    """No birthDate, a malformed one or one after today gives no age (unknown)."""
    assert facts_of(birth=None).age is None
    assert facts_of(birth="12/04/1990").age is None
    assert facts_of(birth="2027-01-01", today=TODAY).age is None
