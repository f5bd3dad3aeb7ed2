"""The time axis of the sample company: day numbers, weeks, months, quarters, seasonality, the shock.

Every date inside the generator is an integer day number `d` counted from 2023-01-01 (d = 0), so
that the whole simulation is plain numpy integer arithmetic (fast, exact, deterministic). Only the
writer turns day numbers back into ISO dates.
"""

from __future__ import annotations

import datetime as _dt

import numpy as np

START = _dt.date(2023, 1, 1)
AS_OF = _dt.date(2025, 11, 14)  # default as_of_date of the metric layer; nothing happens after it
N_DAYS = (AS_OF - START).days + 1  # 1049 days of history, both ends inclusive
LAST = N_DAYS - 1  # day number of AS_OF
OPEN_END = (_dt.date(9999, 12, 31) - START).days  # valid_to of the current standard cost
NO_DATE = np.int64(-(10**9))  # sentinel for an empty date cell

# The first customer deliveries are not shipped before this Monday: the history starts with an empty
# warehouse, and materials (week 1) and production (weeks 2-3) need time to fill it.
FIRST_SHIP = (_dt.date(2023, 1, 23) - START).days


def day(y: int, m: int, d: int) -> int:
    """Day number of a calendar date."""
    return (_dt.date(y, m, d) - START).days


def to_date(d: int) -> _dt.date:
    return START + _dt.timedelta(days=int(d))


_D64 = np.datetime64("2023-01-01", "D") + np.arange(N_DAYS + 400)  # a year of slack for due dates
_YEAR = _D64.astype("datetime64[Y]").astype(np.int64) + 1970
_MONTH0 = _D64.astype("datetime64[M]").astype(np.int64) - (2023 - 1970) * 12  # 0 = Jan 2023

# month index (0 = January 2023) and calendar month (1..12) of every day number
MONTH_INDEX = _MONTH0
CAL_MONTH = (_MONTH0 % 12) + 1
YEAR = _YEAR
N_MONTHS = int(MONTH_INDEX[LAST]) + 1  # 35 months, the last one (Nov 2025) partial


def weekday(d):
    """Monday = 0 ... Sunday = 6 (2023-01-01 was a Sunday)."""
    return (np.asarray(d) + 6) % 7


def week_of(d):
    """Monday-based week number: week 1 starts on Monday 2023-01-02; day 0 (a Sunday) is week 0."""
    return (np.asarray(d) + 6) // 7


def week_start(w):
    return 7 * np.asarray(w) - 6


N_WEEKS = int(week_of(LAST)) + 1


def next_weekday(d):
    """Move Saturday/Sunday forward to Monday (deliveries and receipts happen on working days)."""
    d = np.asarray(d)
    wd = weekday(d)
    return d + np.where(wd == 5, 2, np.where(wd == 6, 1, 0))


def prev_weekday(d):
    d = np.asarray(d)
    wd = weekday(d)
    return d - np.where(wd == 5, 1, np.where(wd == 6, 2, 0))


def yyyymmdd(d: int) -> int:
    """A day number as the integer YYYYMMDD (used inside document numbers like RV20240401)."""
    x = to_date(d)
    return x.year * 10000 + x.month * 100 + x.day


def month_first_day(m: int) -> int:
    y, mm = 2023 + m // 12, m % 12 + 1
    return day(y, mm, 1)


def month_last_day(m: int) -> int:
    """Last calendar day of month index m, capped at AS_OF for the running month."""
    return min(month_first_day(m + 1) - 1, LAST)


MONTH_END_DAYS = np.array([month_last_day(m) for m in range(N_MONTHS)], dtype=np.int64)

# Standard costs are re-set at every quarter start (2023-01-01 ... 2025-10-01).
QUARTER_STARTS = np.array([month_first_day(m) for m in range(0, N_MONTHS, 3)], dtype=np.int64)
N_QUARTERS = len(QUARTER_STARTS)
QUARTER_OF_DAY = np.searchsorted(QUARTER_STARTS, np.arange(len(_D64)), side="right") - 1

# Seasonal demand factor per calendar month: spring peak (project season for pumps and HVAC),
# summer-holiday dip in August, a December dip (holidays, budgets spent).
SEASONALITY = np.array([0.86, 0.95, 1.12, 1.22, 1.16, 1.04, 0.95, 0.82, 1.05, 1.08, 1.00, 0.70])
# Underlying demand growth per year (new projects, price-independent volume).
GROWTH_PER_YEAR = 0.08

# The shock: a disruption at the main CNY supplier in 2024-Q3. Intensity 0..1 over time, ramping up
# in the first week of July and fading out in the first half of October.
SHOCK_POINTS_DAYS = np.array(
    [day(2024, 6, 26), day(2024, 7, 8), day(2024, 9, 23), day(2024, 10, 14)], dtype=float
)
SHOCK_POINTS_LEVEL = np.array([0.0, 1.0, 1.0, 0.0])
SHOCK_PRICE_FROM = day(2024, 7, 1)  # CNY supplier prices +15% from here ...
SHOCK_PRICE_EASE = day(2025, 1, 1)  # ... and still +8% after the renegotiation in January 2025
SHOCK_PRICE_UP = 0.15
SHOCK_PRICE_AFTER = 0.08


def shock(d) -> np.ndarray:
    """Shock intensity (0..1) on day number(s) d."""
    return np.interp(np.asarray(d, dtype=float), SHOCK_POINTS_DAYS, SHOCK_POINTS_LEVEL)


def season(d) -> np.ndarray:
    return SEASONALITY[CAL_MONTH[np.asarray(d)] - 1]


def growth(d) -> np.ndarray:
    return (1.0 + GROWTH_PER_YEAR) ** (np.asarray(d) / 365.25)
