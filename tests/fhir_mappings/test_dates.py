"""FHIR dates as spans, and calendar arithmetic on them."""

from __future__ import annotations

from datetime import date

from fhir_mappings.dates import add_months, parse_span


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
