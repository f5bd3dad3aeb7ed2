"""Period-end projections for open periods: run rate with seasonality learned from earlier years.

For one metric series at month grain:
- seasonal factors per calendar month from every complete year of earlier history (a month's
  value / the mean month of its year, averaged over years; 1.0 where a year is not all positive or
  no complete year exists);
- the run rate ("level") is the deseasonalized mean of the last three complete months;
- an open period's months are: complete ones (their actual), the running month (additive flows:
  actual so far + level x factor x the part of the month still to come; other metrics: the actual
  so far and the expectation blended by elapsed days), and months still to come (level x factor);
- the period value is their sum for additive flows; for other metrics (ratios, balances, averages)
  the period's own value so far, scaled by the ratio of the day-weighted monthly model over the whole
  period to the same over the elapsed part (without a value so far: the day-weighted model itself).
"""

from __future__ import annotations

import calendar
import math
from dataclasses import dataclass
from datetime import date

METHOD = "run rate (last 3 complete months, deseasonalized) with monthly seasonality of earlier years"


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def days_in_month(month_start: date) -> int:
    return calendar.monthrange(month_start.year, month_start.month)[1]


def _known(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def seasonal_factors(monthly: dict[date, float], before: date) -> dict[int, float]:
    """Calendar month -> factor, from complete calendar-aligned 12-month years that end before
    `before` (the first month of the current open period's year is a safe choice)."""
    years: dict[int, list[tuple[int, float]]] = {}
    for month, value in monthly.items():
        if month < before and _known(value):
            years.setdefault(month.year, []).append((month.month, float(value)))
    ratios: dict[int, list[float]] = {}
    for rows in years.values():
        if len(rows) != 12 or any(v <= 0 for _m, v in rows):
            continue
        mean = math.fsum(v for _m, v in rows) / 12
        for month, value in rows:
            ratios.setdefault(month, []).append(value / mean)
    return {m: (math.fsum(ratios[m]) / len(ratios[m]) if m in ratios else 1.0) for m in range(1, 13)}


@dataclass(frozen=True)
class Projection:
    actual_to_date: float | None
    projected_value: float | None


def project(
    monthly: dict[date, float],
    period_start: date,
    period_months: int,
    as_of: date,
    additive: bool,
    factors: dict[int, float] | None = None,
    period_to_date: float | None = None,
) -> Projection:
    """Projected value at the end of the open period [period_start, + period_months) for a series
    of month values (complete months, and the running month's value so far)."""
    running = date(as_of.year, as_of.month, 1)
    factors = factors or seasonal_factors(monthly, period_start)
    complete = sorted(m for m, v in monthly.items() if m < running and _known(v))
    recent = complete[-3:]
    level = (
        math.fsum(float(monthly[m]) / factors[m.month] for m in recent) / len(recent)
        if recent and all(factors[m.month] != 0 for m in recent)
        else None
    )
    values, weights, so_far, elapsed_values, elapsed_weights = [], [], [], [], []
    for offset in range(period_months):
        month = add_months(period_start, offset)
        days = days_in_month(month)
        actual = monthly.get(month)
        expected = None if level is None else level * factors[month.month]
        if month < running:
            value = float(actual) if _known(actual) else expected
            if _known(actual):
                so_far.append(float(actual))
                elapsed_values.append(float(actual))
                elapsed_weights.append(days)
        elif month == running:
            elapsed = min(as_of.day, days) / days
            if _known(actual):
                so_far.append(float(actual))
                elapsed_values.append(float(actual))
                elapsed_weights.append(min(as_of.day, days))
            if expected is None:
                value = float(actual) if _known(actual) and not additive else None
            elif additive:
                value = (float(actual) if _known(actual) else expected * elapsed) + expected * (1 - elapsed)
            else:
                value = elapsed * float(actual) + (1 - elapsed) * expected if _known(actual) else expected
        else:
            value = expected
        if value is None:
            return Projection(_to_date(so_far, additive), None)
        values.append(value)
        weights.append(days)
    if additive:
        return Projection(_to_date(so_far, additive), math.fsum(values))
    projected = _mean(values, weights)
    if _known(period_to_date) and elapsed_values:
        # the period's own value so far, moved by what the monthly model expects of the rest: ratios
        # whose monthly level differs from their period level (collection rates, turnover) stay right
        so_far_model = _mean(elapsed_values, elapsed_weights)
        if so_far_model > 0 and projected > 0 and period_to_date > 0:
            projected = float(period_to_date) * projected / so_far_model
        else:
            projected = float(period_to_date)
    return Projection(_to_date(so_far, additive), projected)


def _mean(values: list[float], weights: list[float]) -> float:
    return math.fsum(v * w for v, w in zip(values, weights, strict=True)) / math.fsum(weights)


def _to_date(values: list[float], additive: bool) -> float | None:
    if not values:
        return None
    return math.fsum(values) if additive else values[-1]
