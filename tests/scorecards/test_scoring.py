"""Hand-computed scorecard cases: both directions, caps, clipping, attainment, missing actuals."""

from __future__ import annotations

import pytest

from finkpi.scorecards.scoring import HIGHER, LOWER, Line, attainment, score, totals


@pytest.mark.parametrize(
    ("actual", "expected"),
    [
        (80, 0.0),  # at the floor
        (70, 0.0),  # below the floor: clipped at 0
        (90, 50.0),  # halfway floor -> target: 100 * (90 - 80) / (100 - 80)
        (100, 100.0),  # at the target
        (105, 110.0),  # halfway target -> stretch: 100 + 20 * 5 / 10
        (110, 120.0),  # at the stretch: the cap
        (150, 120.0),  # beyond: clipped at the cap
    ],
)
def test_higher_is_better(actual, expected):
    assert score(actual, 80, 100, 110, HIGHER) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("actual", "expected"),
    [
        (60, 0.0),  # floor of a lower-is-better metric (days): 60
        (75, 0.0),  # worse than the floor
        (55, 50.0),  # 100 * (60 - 55) / (60 - 50)
        (50, 100.0),
        (47, 112.0),  # 100 + 20 * (50 - 47) / (50 - 45)
        (45, 120.0),
        (30, 120.0),
    ],
)
def test_lower_is_better_reverses_the_axis(actual, expected):
    assert score(actual, 60, 50, 45, LOWER) == pytest.approx(expected)


def test_cap_is_configurable():
    assert score(105, 80, 100, 110, HIGHER, cap=150) == pytest.approx(125.0)  # 100 + 50 * 0.5
    assert score(200, 80, 100, 110, HIGHER, cap=150) == 150.0
    assert score(105, 80, 100, 110, HIGHER, cap=100) == 100.0


def test_negative_thresholds():
    # purchase price variance (lower is better) planned at -10k, floor +10k, stretch -20k
    assert score(0, 10_000, -10_000, -20_000, LOWER) == pytest.approx(50.0)
    assert score(-15_000, 10_000, -10_000, -20_000, LOWER) == pytest.approx(110.0)


def test_thresholds_against_the_direction_are_rejected():
    with pytest.raises(ValueError, match="floor < target < stretch"):
        score(1, 100, 80, 110, HIGHER)


def test_missing_actual_gives_no_score():
    assert score(None, 80, 100, 110, HIGHER) is None
    assert score(float("nan"), 80, 100, 110, HIGHER) is None


def test_attainment():
    assert attainment(90, 100, HIGHER) == pytest.approx(0.9)
    assert attainment(40, 50, LOWER) == pytest.approx(1.25)  # target / actual
    assert attainment(0, 100, HIGHER) is None
    assert attainment(100, 0, HIGHER) is None
    assert attainment(-5, 10, HIGHER) is None  # signs differ
    assert attainment(-5, -10, LOWER) == pytest.approx(2.0)
    assert attainment(None, 10, HIGHER) is None


def test_totals_with_a_missing_line_renormalize_the_weights():
    lines = [
        Line("revenue", "financial", 0.4, 80.0),
        Line("order_intake", "financial", 0.2, None),  # no actual
        Line("on_time_delivery_rate", "process", 0.3, 120.0),
        Line("complaint_rate", "customer", 0.1, 40.0),
    ]
    result = totals(lines)
    # scored weight 0.8: (0.4*80 + 0.3*120 + 0.1*40) / 0.8 = (32 + 36 + 4) / 0.8 = 90
    assert result.total_score == pytest.approx(90.0)
    assert result.coverage == pytest.approx(0.8)
    assert result.result_score == pytest.approx(80.0)
    # process over customer + process: (0.3*120 + 0.1*40) / 0.4 = 100
    assert result.process_score == pytest.approx(100.0)
    assert result.effective_weights == pytest.approx([0.5, None, 0.375, 0.125])
    assert sum(w for w in result.weighted_scores if w is not None) == pytest.approx(result.total_score)
    assert result.weighted_scores[1] is None


def test_totals_with_nothing_scored():
    result = totals([Line("revenue", "financial", 1.0, None)])
    assert result.total_score is None and result.coverage == 0.0
