"""Associations (Fisher-z CI) and forecasts on small hand-made series."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest

from finkpi.scorecards.associations import lagged_associations, pearson_with_ci
from finkpi.scorecards.forecast import project, seasonal_factors


def test_pearson_ci_by_hand():
    x = [1, 2, 3, 4, 5, 6, 7]
    y = [2, 1, 4, 3, 6, 5, 8]
    n, r, low, high = pearson_with_ci(x, y)
    expected = np.corrcoef(x, y)[0, 1]
    se = 1 / math.sqrt(7 - 3)
    assert n == 7 and r == pytest.approx(expected)
    assert low == pytest.approx(math.tanh(math.atanh(expected) - 1.959964 * se), abs=1e-6)
    assert high == pytest.approx(math.tanh(math.atanh(expected) + 1.959964 * se), abs=1e-6)


def test_lag_pairs_the_leading_driver():
    rng = np.random.Generator(np.random.PCG64(5))
    driver = rng.normal(size=40)
    metric = np.concatenate([[0.0, 0.0], -driver[:-2]]) + rng.normal(scale=0.01, size=40)
    found = {a.lag_periods: a for a in lagged_associations(driver, metric, max_lag=3, warm_up_periods=4)}
    assert found[2].estimate < -0.99 and found[2].ci_high < 0
    assert abs(found[0].estimate) < 0.5
    assert found[0].n == 36 and found[3].n == 33


def test_forecast_additive_run_rate_with_seasonality():
    # two full years, December twice as high as other months; the current quarter is Q4 2025
    monthly = {}
    for year in (2023, 2024):
        for m in range(1, 13):
            monthly[date(year, m, 1)] = 200.0 if m == 12 else 100.0
    for m in range(1, 11):
        monthly[date(2025, m, 1)] = 110.0
    monthly[date(2025, 11, 1)] = 55.0  # half of November by the 15th
    factors = seasonal_factors(monthly, date(2025, 1, 1))
    assert factors[12] == pytest.approx(200 / (1300 / 12))
    result = project(monthly, date(2025, 10, 1), 3, date(2025, 11, 15), additive=True)
    level = 110.0 / factors[8]  # the last three complete months are all 110 with the same factor
    expected = 110.0 + (55.0 + level * factors[11] * (1 - 15 / 30)) + level * factors[12]
    assert result.projected_value == pytest.approx(expected)
    assert result.actual_to_date == pytest.approx(165.0)


def test_forecast_ratio_uses_the_period_value_so_far():
    monthly = {date(2025, m, 1): 0.9 for m in range(1, 11)}
    monthly[date(2025, 11, 1)] = 0.9
    result = project(monthly, date(2025, 10, 1), 3, date(2025, 11, 15), additive=False, period_to_date=0.8)
    assert result.projected_value == pytest.approx(0.8)  # flat model: the value so far stands
