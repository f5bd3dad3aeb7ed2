"""The seed validation stops the run and names the offending rows (file and line)."""

from __future__ import annotations

from datetime import date

import pytest

from finkpi.scorecards.targets import TargetsError, load_seeds, validate

DIRECTIONS = {"revenue": "higher_is_better", "dso": "lower_is_better", "complaint_rate": "lower_is_better"}
TARGET_HEADER = (
    "metric_name,org_unit,grain,period_start,floor,target,stretch,version,approved_by,approved_at,"
    "fiscal_year_start_month\n"
)
WEIGHT_HEADER = "scorecard,org_unit,metric_name,weight_pct,effective_from,effective_to\n"
Q1 = {"quarter": [(date(2025, 1, 1), date(2025, 3, 31))]}


def _seeds(tmp_path, weights: str, targets: str):
    (tmp_path / "scorecard_weights.csv").write_text(WEIGHT_HEADER + weights)
    (tmp_path / "scorecard_targets.csv").write_text(TARGET_HEADER + targets)
    return load_seeds(tmp_path)


GOOD_TARGETS = (
    "revenue,Sales,quarter,2025-01-01,90,100,110,1,CFO,2024-12-10,1\n"
    "dso,Sales,quarter,2025-01-01,60,50,45,1,CFO,2024-12-10,1\n"
)


def test_good_seeds_validate(tmp_path):
    seeds = _seeds(
        tmp_path,
        "department,Sales,revenue,60,2025-01-01,9999-12-31\ndepartment,Sales,dso,40,2025-01-01,\n",
        GOOD_TARGETS,
    )
    assert validate(seeds, DIRECTIONS, Q1) == []


def test_weights_not_summing_to_100_name_the_rows(tmp_path):
    seeds = _seeds(
        tmp_path,
        "department,Sales,revenue,60,2025-01-01,9999-12-31\ndepartment,Sales,dso,30,2025-01-01,9999-12-31\n",
        GOOD_TARGETS,
    )
    problems = validate(seeds, DIRECTIONS, Q1)
    assert any(
        "sum to 90%" in p and "scorecard_weights.csv:2" in p and "scorecard_weights.csv:3" in p
        for p in problems
    ), problems


def test_weights_must_sum_on_every_day(tmp_path):
    # dso leaves on 2025-02-01 while revenue stays at 60: from then on the scorecard sums to 60
    seeds = _seeds(
        tmp_path,
        "department,Sales,revenue,60,2025-01-01,9999-12-31\ndepartment,Sales,dso,40,2025-01-01,2025-02-01\n",
        GOOD_TARGETS,
    )
    problems = validate(seeds, DIRECTIONS, {})
    assert len(problems) == 1
    assert "scorecard department / Sales: weights sum to 60% from 2025-02-01 (open), not 100%" in problems[0]
    assert problems[0].endswith("scorecard_weights.csv:2")


def test_overlapping_validity_names_both_rows(tmp_path):
    seeds = _seeds(
        tmp_path,
        "department,Sales,revenue,100,2024-01-01,2025-03-01\ndepartment,Sales,revenue,100,2025-01-01,9999-12-31\n",
        GOOD_TARGETS,
    )
    problems = validate(seeds, DIRECTIONS, {})
    assert any(
        "scorecard_weights.csv:2 and " in p and "scorecard_weights.csv:3: validity" in p and "overlaps" in p
        for p in problems
    )


def test_unknown_metric(tmp_path):
    seeds = _seeds(tmp_path, "department,Sales,revenu,100,2025-01-01,9999-12-31\n", GOOD_TARGETS)
    problems = validate(seeds, DIRECTIONS, {})
    assert any(
        p.endswith("scorecard_weights.csv:2: metric 'revenu' is not in the metric catalog") for p in problems
    )


def test_complete_scored_period_without_target(tmp_path):
    seeds = _seeds(
        tmp_path,
        "department,Sales,revenue,50,2025-01-01,9999-12-31\ndepartment,Sales,complaint_rate,50,2025-01-01,\n",
        GOOD_TARGETS,
    )
    problems = validate(seeds, DIRECTIONS, Q1)
    assert len(problems) == 1
    assert problems[0].startswith("no target in force for complaint_rate / Sales / quarter 2025-01-01")
    assert problems[0].endswith("scorecard_weights.csv:3)")


def test_a_target_approved_after_the_period_is_not_in_force(tmp_path):
    seeds = _seeds(
        tmp_path,
        "department,Sales,revenue,100,2025-01-01,9999-12-31\n",
        "revenue,Sales,quarter,2025-01-01,90,100,110,1,CFO,2024-12-10,1\n"
        "revenue,Sales,quarter,2025-01-01,80,90,100,2,CFO,2025-04-15,1\n",
    )
    assert seeds.target_for("revenue", "Sales", "quarter", date(2025, 1, 1), date(2025, 3, 31)).version == 1
    assert seeds.target_for("revenue", "Sales", "quarter", date(2025, 1, 1), date(2025, 6, 30)).version == 2


def test_thresholds_against_the_direction(tmp_path):
    seeds = _seeds(
        tmp_path,
        "department,Sales,dso,100,2025-01-01,9999-12-31\n",
        "dso,Sales,quarter,2025-01-01,45,50,60,1,CFO,2024-12-10,1\n",
    )
    problems = validate(seeds, DIRECTIONS, Q1)
    assert any("scorecard_targets.csv:2: dso is lower_is_better" in p for p in problems), problems


def test_unparseable_rows_are_named(tmp_path):
    with pytest.raises(TargetsError, match=r"scorecard_targets.csv:3: target 'ten' is not a valid float"):
        _seeds(
            tmp_path,
            "department,Sales,revenue,100,2025-01-01,9999-12-31\n",
            "revenue,Sales,quarter,2025-01-01,90,100,110,1,CFO,2024-12-10,1\n"
            "revenue,Sales,month,2025-01-01,9,ten,11,1,CFO,2024-12-10,1\n",
        )


def test_the_bundled_seeds_load():
    from finkpi.settings import PROJECT_DIR

    seeds = load_seeds(PROJECT_DIR / "seeds" / "targets")
    cards = {(w.scorecard, w.org_unit) for w in seeds.weights}
    assert len(cards) == 7  # six departments and the company
    assert {w.effective_from for w in seeds.weights} == {date(2023, 1, 1), date(2025, 1, 1)}


def test_targets_belong_to_one_fiscal_calendar():
    """The sample's targets are set for fiscal years starting in January: a run with an April fiscal
    year has none of their periods, and the scorecard step skips (tests/metrics/test_fiscal_calendar.py
    runs that pipeline end to end)."""
    from finkpi.settings import PROJECT_DIR

    seeds = load_seeds(PROJECT_DIR / "seeds" / "targets")
    assert len(seeds.for_calendar(1).targets) == len(seeds.targets)
    assert seeds.for_calendar(4).targets == []
