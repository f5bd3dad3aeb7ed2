"""Measured associations between a metric and the drivers it is not linked to by arithmetic
(on-time delivery -> complaints -> repeat purchases -> revenue): Pearson correlations over the
history of complete periods, with the driver leading the metric by 0..3 periods, n and a 95%
confidence interval (Fisher z). An association, not an attribution: it says the two moved
together, not how much of a change one caused.

The first fiscal year of history is left out (`warm_up_periods`): metrics that look back, such as
the repeat purchase rate (a customer is "new" at its first order seen in the data), are biased
while the history fills up, and that ramp would dominate any correlation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

Z_95 = 1.959963984540054
METHOD = "association: pearson r of levels, driver leading by lag, 95% CI by Fisher z"


@dataclass(frozen=True)
class Association:
    lag_periods: int
    n: int
    estimate: float | None
    ci_low: float | None
    ci_high: float | None


def pearson_with_ci(x, y) -> tuple[int, float | None, float | None, float | None]:
    """n, r and its 95% CI (Fisher z: atanh(r) +- 1.96 / sqrt(n - 3)) over the pairs where both are
    known. r is None with fewer than 3 pairs or a constant series; the CI needs n > 3."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    n = len(x)
    if n < 3 or np.std(x) == 0 or np.std(y) == 0:
        return n, None, None, None
    r = float(np.corrcoef(x, y)[0, 1])
    r = max(min(r, 1.0), -1.0)
    if n <= 3 or abs(r) == 1.0:
        return n, r, None, None
    z, se = math.atanh(r), 1.0 / math.sqrt(n - 3)
    return n, r, math.tanh(z - Z_95 * se), math.tanh(z + Z_95 * se)


def lagged_associations(driver, metric, max_lag: int = 3, warm_up_periods: int = 0) -> list[Association]:
    """driver and metric: equally long sequences over the same consecutive complete periods.
    At lag k the driver of period t - k is paired with the metric of period t; pairs whose metric
    period lies in the first `warm_up_periods` periods are left out (and so are those whose driver
    period does)."""
    driver, metric = np.asarray(driver, dtype=float), np.asarray(metric, dtype=float)
    if len(driver) != len(metric):
        raise ValueError("driver and metric must cover the same periods")
    out = []
    for lag in range(max_lag + 1):
        start = warm_up_periods + lag
        xs = driver[start - lag : len(driver) - lag] if start < len(driver) else driver[:0]
        ys = metric[start:]
        n, r, low, high = pearson_with_ci(xs, ys)
        out.append(Association(lag, n, r, low, high))
    return out
