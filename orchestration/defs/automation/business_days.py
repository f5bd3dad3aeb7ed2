"""The monthly close's calendar rule, as pure functions: business day N of a month (Monday to
Friday; weekends skipped, public holidays are not modelled) and the month that day closes."""

from datetime import date, timedelta


def nth_business_day(year: int, month: int, n: int) -> date:
    """The n-th weekday (Mon-Fri) of the month; n counts from 1."""
    if n < 1:
        raise ValueError(f"business day must be 1 or more, not {n}")
    day, counted = date(year, month, 1), 0
    while True:
        if day.weekday() < 5:
            counted += 1
            if counted == n:
                return day
        day += timedelta(days=1)
        if day.month != month:
            raise ValueError(f"{year}-{month:02d} has fewer than {n} business days")


def previous_month(day: date) -> str:
    """The month just ended, as `finkpi close --period` wants it (YYYY-MM)."""
    last = day.replace(day=1) - timedelta(days=1)
    return f"{last.year}-{last.month:02d}"


def close_due(day: date, n: int) -> str | None:
    """The period to close on `day`: the previous month if `day` is business day n, else None."""
    return previous_month(day) if day == nth_business_day(day.year, day.month, n) else None
