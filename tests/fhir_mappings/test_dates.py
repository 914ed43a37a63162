"""FHIR dates as spans, and calendar arithmetic on them."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import pytest

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


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2024-02-29", date(2024, 2, 29)),
        ("2024-02-29T23:59:59Z", date(2024, 2, 29)),
        ("2024-02-29T", date(2024, 2, 29)),
        (" 2024-02-29 ", date(2024, 2, 29)),
        ("\u0662\u0660\u0662\u0664-02-29", date(2024, 2, 29)),  # Arabic-Indic digits
        ("2023-02-29", None),
        ("2024-02-29x", None),
        ("2024-02-2a", None),
        ("2024-2-029", None),
        ("0000-01-01", None),
    ],
)
def test_full_dates_read_alike_on_either_path(text: str, day: date | None) -> None:
    """A full date reads the same whether the fast parser takes it or the pattern does:
    a day that does not exist or a stray character is no date; padding and non-ASCII
    digits are read."""
    span = parse_span(text)
    assert (span.earliest if span else None) == day
    assert span is None or (span.latest == day and span.text == day.isoformat())


def test_add_months_clamps_the_day() -> None:
    """31 August minus 6 months is 28 February; plus 12 is a year on."""
    assert add_months(date(2026, 8, 31), -6) == date(2026, 2, 28)
    assert add_months(date(2026, 11, 25), -12) == date(2025, 11, 25)


def test_add_months_is_calendar_arithmetic_for_every_day_and_leap_rule() -> None:
    """Every day of a common, a leap, a century and a 400-year leap year, moved by up to
    four years either way: the day clamped to the last day of the month moved to."""
    for year in (1900, 2000, 2023, 2024):
        day = date(year, 1, 1)
        while day.year == year:
            for months in range(-49, 50, 7):
                moved_year, moved_month = divmod(year * 12 + day.month - 1 + months, 12)
                last = calendar.monthrange(moved_year, moved_month + 1)[1]
                expected = date(moved_year, moved_month + 1, min(day.day, last))
                assert add_months(day, months) == expected
            day += timedelta(days=1)
