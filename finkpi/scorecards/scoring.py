"""Scoring: pure functions from an actual and its floor / target / stretch to a score, and from
scored lines to a scorecard total. No I/O; every rule of the scorecard lives here.

- floor gives 0, target 100, stretch the cap (default 120), straight lines between, clipped to
  [0, cap]; for a lower-is-better metric the axis is reversed (floor > target > stretch);
- attainment = actual / target (target / actual when lower is better), NULL when either is zero
  or their signs differ;
- a line without an actual is missing: the remaining weights are renormalized and `coverage` says
  how much of the weight was scored.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

DEFAULT_CAP = 120.0
HIGHER = "higher_is_better"
LOWER = "lower_is_better"
RESULT_PERSPECTIVES = frozenset({"financial"})
PROCESS_PERSPECTIVES = frozenset({"customer", "process", "learning"})


def _known(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def score(actual, floor, target, stretch, direction: str, cap: float = DEFAULT_CAP) -> float | None:
    """0 at floor, 100 at target, `cap` at stretch, linear between and clipped to [0, cap].

    Lower-is-better metrics reverse the axis: every value is negated, so floor > target > stretch
    becomes an increasing scale. None when the actual or a threshold is unknown."""
    if not all(_known(v) for v in (actual, floor, target, stretch)):
        return None
    if cap < 100:
        raise ValueError(f"cap must be at least 100, not {cap}")
    sign = -1.0 if direction == LOWER else 1.0
    a, f, t, s = (sign * float(v) for v in (actual, floor, target, stretch))
    if not f < t < s:
        raise ValueError(
            f"thresholds must run floor < target < stretch along the metric's direction ({direction}):"
            f" floor={floor}, target={target}, stretch={stretch}"
        )
    raw = 100.0 * (a - f) / (t - f) if a <= t else 100.0 + (cap - 100.0) * (a - t) / (s - t)
    return min(max(raw, 0.0), cap)


def attainment(actual, target, direction: str) -> float | None:
    """actual / target (target / actual when lower is better); None when either is zero or unknown,
    or when their signs differ (a ratio of opposite signs says nothing about attainment)."""
    if not (_known(actual) and _known(target)):
        return None
    actual, target = float(actual), float(target)
    if actual == 0 or target == 0 or (actual > 0) != (target > 0):
        return None
    return target / actual if direction == LOWER else actual / target


@dataclass
class Line:
    metric_name: str
    perspective: str
    weight: float  # nominal weight, a fraction of the scorecard (weights of a scorecard sum to 1)
    score: float | None  # None: missing (no actual, or no thresholds)


@dataclass
class Totals:
    total_score: float | None
    result_score: float | None
    process_score: float | None
    coverage: float  # scored weight / total weight, 0..1
    effective_weights: list[float | None]  # per line: renormalized weight, None for a missing line
    weighted_scores: list[float | None]  # per line: effective weight x score; they sum to total_score


def _weighted_mean(pairs: Iterable[tuple[float, float]]) -> float | None:
    pairs = list(pairs)
    total = math.fsum(w for w, _ in pairs)
    if not pairs or total <= 0:
        return None
    return math.fsum(w * s for w, s in pairs) / total


def totals(lines: list[Line]) -> Totals:
    """Total, result (financial) and process (customer, process, learning) scores of one scorecard
    period: weighted means over the scored lines, the weights renormalized over what was scored."""
    all_weight = math.fsum(line.weight for line in lines)
    scored = [line for line in lines if line.score is not None]
    scored_weight = math.fsum(line.weight for line in scored)
    effective = [
        (line.weight / scored_weight if line.score is not None and scored_weight > 0 else None)
        for line in lines
    ]
    return Totals(
        total_score=_weighted_mean((line.weight, line.score) for line in scored),
        result_score=_weighted_mean(
            (line.weight, line.score) for line in scored if line.perspective in RESULT_PERSPECTIVES
        ),
        process_score=_weighted_mean(
            (line.weight, line.score) for line in scored if line.perspective in PROCESS_PERSPECTIVES
        ),
        coverage=scored_weight / all_weight if all_weight > 0 else 0.0,
        effective_weights=effective,
        weighted_scores=[
            None if w is None else w * line.score for w, line in zip(effective, lines, strict=True)
        ],
    )
