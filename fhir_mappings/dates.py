"""FHIR dates as spans: a partial date ("1981", "1981-06") is every day it could be.

All arithmetic is calendar arithmetic on `datetime.date` (months and years clamp
the day: 31 Jan + 1 month = 28/29 Feb). Nothing here reads the system clock.
"""

from __future__ import annotations

import calendar
import re
from datetime import date
from typing import Any

from fhir_mappings.facts import DateSpan

__all__ = ["add_months", "add_years", "completed_years", "parse_span"]

_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?(?:T.*)?$")


def parse_span(value: Any) -> DateSpan | None:
    """The span of days a FHIR date/dateTime/instant string can mean, or None."""
    if not isinstance(value, str):
        return None
    if len(value) >= 10 and value[4] == "-" and value[7] == "-" and value[:10].isascii():
        # The usual form, a full date (and maybe a time): read by the C parser. What it
        # refuses (an impossible day, a stray character) takes the general path below.
        tail = value[10:11]
        if not tail or tail == "T":
            try:
                exact = date.fromisoformat(value[:10])
            except ValueError:
                pass
            else:
                return DateSpan(earliest=exact, latest=exact, text=exact.isoformat())
    match = _DATE.match(value.strip())
    if match is None:
        return None
    year_text, month_text, day_text = match.groups()
    year = int(year_text)
    try:
        if day_text is not None:  # the usual case: a full date
            exact = date(year, int(month_text), int(day_text))
            return DateSpan(earliest=exact, latest=exact, text=exact.isoformat())
        if month_text is None:
            return DateSpan(earliest=date(year, 1, 1), latest=date(year, 12, 31), text=f"{year}")
        month = int(month_text)
        last = calendar.monthrange(year, month)[1]
        return DateSpan(
            earliest=date(year, month, 1),
            latest=date(year, month, last),
            text=f"{year:04d}-{month:02d}",
        )
    except ValueError:
        return None


# Days in each month of a common year (February in a leap year: 29).
_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def add_months(day: date, months: int) -> date:
    """`day` moved by whole calendar months (negative goes back), clamping the day."""
    year, month = divmod(day.year * 12 + (day.month - 1) + months, 12)
    result_day = day.day
    if result_day > 28:  # only a 29th-31st may not exist in the month moved to
        last = 29 if month == 1 and calendar.isleap(year) else _MONTH_DAYS[month]
        result_day = min(result_day, last)
    return date(year, month + 1, result_day)


def add_years(day: date, years: int) -> date:
    return add_months(day, 12 * years)


def completed_years(start: date, end: date) -> int:
    """Whole years from `start` to `end` (an age on `end` for a birth on `start`)."""
    years = end.year - start.year
    if (end.month, end.day) < (start.month, start.day):
        years -= 1
    return years
