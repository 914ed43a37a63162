"""Age from Patient.birthDate, partial dates included, on a frozen evaluation date."""

from __future__ import annotations

from datetime import date

import pytest

from fhir_mappings.dates import add_months, parse_span
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


def test_partial_dates_parse_to_spans() -> None:
    """'2024', '2024-02' and a dateTime parse to the days they can mean."""
    year = parse_span("2024")
    month = parse_span("2024-02")
    moment = parse_span("2024-02-10T08:30:00+01:00")
    assert year and (year.earliest, year.latest) == (date(2024, 1, 1), date(2024, 12, 31))
    assert month and (month.earliest, month.latest) == (date(2024, 2, 1), date(2024, 2, 29))
    assert moment and moment.earliest == moment.latest == date(2024, 2, 10)
    assert parse_span("2024-13") is None
    assert parse_span(20240210) is None


def test_add_months_clamps_the_day() -> None:
    """31 August minus 6 months is 28 February; plus 12 is a year on."""
    assert add_months(date(2026, 8, 31), -6) == date(2026, 2, 28)
    assert add_months(date(2026, 11, 25), -12) == date(2025, 11, 25)
