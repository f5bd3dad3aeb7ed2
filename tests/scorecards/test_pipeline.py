"""End to end on the bundled sample: the pipeline's scorecard step, the published tables, the
built-in cause and effect, exact attribution, weight history and the CLI."""

from __future__ import annotations

import dataclasses
from datetime import date

import numpy as np
import pandas as pd
import pytest

from finkpi import contract
from finkpi.scorecards.run import ScorecardError, compute
from finkpi.scorecards.run import run as score_run
from finkpi.scorecards.targets import OPEN_END, Weight, load_seeds
from finkpi.settings import PROJECT_DIR

CONTRACT = {name: contract.TABLES[name].columns for name in contract.SCORECARD_TABLES}


@pytest.fixture(scope="module")
def tables(warehouse):
    return {name: warehouse.execute(f"select * from metrics.{name}").df() for name in CONTRACT}


@pytest.fixture(scope="module")
def inputs(warehouse):
    values = warehouse.execute("select * from metrics.metric_values").df()
    catalog = warehouse.execute("select * from metrics.metric_catalog").df()
    return values, catalog


def test_published_tables_have_the_contract_columns(tables, built):
    for name, columns in CONTRACT.items():
        frame = tables[name]
        assert not frame.empty, name
        missing = set(columns) - set(frame.columns)
        assert not missing, (name, missing)
        assert set(frame["run_id"]) == {built.run_id}
    assert "scorecards" in built.seconds


def test_every_org_unit_is_scored(tables):
    summary = tables["scorecard_summary"]
    assert set(summary["org_unit"]) == {
        "Company", "Sales", "Procurement", "Production", "Logistics", "Customer Service", "Finance",
    }  # fmt: skip
    assert set(summary["grain"]) == {"month", "quarter", "year"}
    assert summary["total_score"].between(0, 120).all()
    lines = tables["scorecard_lines"]
    totals = lines.groupby(["scorecard", "org_unit", "grain", "period_start"])["weighted_score"].sum()
    merged = summary.set_index(["scorecard", "org_unit", "grain", "period_start"])["total_score"]
    assert np.allclose(totals.loc[merged.index], merged)


def test_a_lines_actual_is_the_department_value_where_there_is_one(tables, warehouse):
    lines = tables["scorecard_lines"]
    row = lines[
        (lines["org_unit"] == "Logistics")
        & (lines["metric_name"] == "operating_expense")
        & (lines["grain"] == "quarter")
    ].iloc[0]
    department = warehouse.execute(
        "select value from metrics.metric_values where metric_name = 'operating_expense'"
        " and grain = 'quarter' and dimension = 'department' and dimension_value = 'Logistics'"
        " and period_start = ?",
        [row["period_start"]],
    ).fetchone()[0]
    assert row["actual"] == pytest.approx(department)
    row = lines[
        (lines["org_unit"] == "Sales") & (lines["metric_name"] == "revenue") & (lines["grain"] == "quarter")
    ].iloc[0]
    total = warehouse.execute(
        "select value from metrics.metric_values where metric_name = 'revenue' and grain = 'quarter'"
        " and dimension = 'total' and period_start = ?",
        [row["period_start"]],
    ).fetchone()[0]
    assert row["actual"] == pytest.approx(total)


def test_the_built_in_cause_and_effect_shows_in_driver_associations(tables):
    found = tables["driver_associations"]
    monthly = found[found["grain"] == "month"]
    assert set(found["relation"]) == {"association"}
    otd = monthly[
        (monthly["metric_name"] == "complaint_rate") & (monthly["driver_metric"] == "on_time_delivery_rate")
    ]
    lag0 = otd[otd["lag_periods"] == 0].iloc[0]
    # late deliveries -> complaints: strongly negative, the whole 95% interval below zero
    assert lag0["estimate"] < -0.8 and lag0["ci_high"] < 0 and lag0["n"] >= 20
    complaints = monthly[
        (monthly["metric_name"] == "repeat_purchase_rate") & (monthly["driver_metric"] == "complaint_rate")
    ]
    assert set(complaints["lag_periods"]) == {0, 1, 2, 3}
    # complaints -> fewer repeat purchases: negative at some lag 0..3 (here at every lag)
    assert (complaints["estimate"] < 0).any()
    assert (complaints["ci_low"] < complaints["estimate"]).all() and (
        complaints["estimate"] < complaints["ci_high"]
    ).all()


def test_attribution_sums_to_the_change(tables, inputs):
    found = tables["driver_attribution"]
    assert set(found["method"]) == {"additive", "lmdi", "shapley"}
    keys = ["metric_name", "grain", "period_start", "comparison"]
    sums = found.groupby(keys).agg(change=("change", "first"), total=("contribution", "sum"))
    error = (sums["total"] - sums["change"]).abs() / np.maximum(1.0, sums["change"].abs())
    assert error.max() <= 1e-9
    # the change is the metric's own exported change
    assert np.allclose(
        found["metric_value"] - found["comparison_value"], found["change"], rtol=1e-9, atol=1e-6
    )
    assert {"previous_period", "same_period_last_year"} == set(found["comparison"])


def test_incomplete_periods_are_never_compared(tables, inputs):
    values, _catalog = inputs
    # a period is complete for the scorecards when every value of it is (completeness is per company)
    complete = {
        (g, pd.Timestamp(p).date()): c
        for (g, p), c in values.groupby(["grain", "period_start"])["is_complete"].all().items()
    }
    found = tables["driver_attribution"]
    for grain, start, earlier in found[["grain", "period_start", "comparison_period_start"]].itertuples(
        index=False
    ):
        assert (
            complete[(grain, pd.Timestamp(start).date())] and complete[(grain, pd.Timestamp(earlier).date())]
        )
    lines = tables["scorecard_lines"]
    assert all(
        complete[(g, pd.Timestamp(p).date())]
        for g, p in lines[["grain", "period_start"]].itertuples(index=False)
    )
    forecast = tables["metric_forecast"]
    assert not any(
        complete[(g, pd.Timestamp(p).date())]
        for g, p in forecast[["grain", "period_start"]].itertuples(index=False)
    )
    assert set(forecast["period_label"]) == {"2025-11", "FY2025-Q4", "FY2025"}


def test_at_risk_follows_the_direction(tables):
    forecast = tables["metric_forecast"].dropna(subset=["target", "projected_value"])
    lower = forecast["direction"] == "lower_is_better"
    expected = np.where(
        lower,
        forecast["projected_value"] > forecast["target"],
        forecast["projected_value"] < forecast["target"],
    )
    assert (forecast["at_risk"].astype(bool) == expected).all()


def _summaries(inputs, seeds, as_of):
    values, catalog = inputs
    frame = compute(values, catalog, seeds, as_of, "test")["scorecard_summary"]
    return frame.set_index(["scorecard", "org_unit", "grain", "period_start"])["total_score"]


def test_changing_future_weights_does_not_move_past_scores(inputs, sample_settings):
    as_of = date(2025, 11, 14)
    seeds = load_seeds(PROJECT_DIR / "seeds" / "targets")
    before = _summaries(inputs, seeds, as_of)
    change_on = date(2025, 7, 1)
    weights = []
    for w in seeds.weights:
        if w.org_unit == "Sales" and w.effective_to == OPEN_END:
            weights.append(dataclasses.replace(w, effective_to=change_on))
            new_pct = {
                "revenue": 50.0,
                "order_intake": 10.0,
                "new_customers": 10.0,
                "repeat_purchase_rate": 20.0,
            }
            weights.append(
                dataclasses.replace(
                    w, effective_from=change_on, weight_pct=new_pct.get(w.metric_name, 10.0), where="test"
                )
            )
        else:
            weights.append(w)
    assert isinstance(weights[0], Weight)
    after = _summaries(inputs, dataclasses.replace(seeds, weights=weights), as_of)
    sales = [k for k in before.index if k[1] == "Sales"]
    past = [k for k in sales if pd.Timestamp(k[3]).date() < change_on]
    later = [k for k in sales if k[2] in ("month", "quarter") and pd.Timestamp(k[3]).date() >= change_on]
    assert past and later
    assert np.allclose(before.loc[past], after.loc[past])  # not a single past score moves
    assert not np.allclose(before.loc[later], after.loc[later])  # the new weights apply from July
    others = [k for k in before.index if k[1] != "Sales"]
    assert np.allclose(before.loc[others], after.loc[others])


def test_a_revision_approved_after_the_period_ended_is_not_applied(tables):
    lines = tables["scorecard_lines"]
    row = lines[
        (lines["org_unit"] == "Sales") & (lines["metric_name"] == "revenue") & (lines["grain"] == "quarter")
    ].set_index("period_label")
    assert row.loc["FY2024-Q4", "target_version"] == 1  # version 2 was approved on 2025-02-10
    assert row.loc["FY2025-Q3", "target_version"] == 2  # the mid-year reforecast of 2025-06-30


def test_a_bad_seed_stops_the_step_naming_the_row(built, sample_settings, tmp_path):
    # the seeds are validated against the catalog of the build (each metric's direction)
    source = PROJECT_DIR / "seeds" / "targets"
    (tmp_path / "scorecard_targets.csv").write_text((source / "scorecard_targets.csv").read_text())
    weights = (source / "scorecard_weights.csv").read_text().splitlines()
    weights[1] = weights[1].replace(",30,", ",35,")  # Sales revenue 30% -> 35%: Sales sums to 105%
    (tmp_path / "scorecard_weights.csv").write_text("\n".join(weights) + "\n")
    with pytest.raises(ScorecardError, match=r"weights sum to 105% from 2023-01-01.*scorecard_weights.csv:2"):
        score_run(sample_settings, "test", seeds_dir=tmp_path)


def test_cli_scorecard_explains_the_score(sample_settings, built, capsys):
    from finkpi.cli import main

    code = main(
        [
            "scorecard",
            "--org-unit",
            "Sales",
            "--period",
            "FY2025-Q3",
            "--warehouse-dir",
            str(sample_settings.warehouse_dir),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "Scorecard department / Sales / FY2025-Q3" in out
    assert "largest positive" in out and "largest negative" in out
    assert "order_intake" in out and "association" in out
    code = main(
        [
            "scorecard",
            "--org-unit",
            "Sales",
            "--period",
            "FY2025-Q4",
            "--warehouse-dir",
            str(sample_settings.warehouse_dir),
        ]
    )
    assert code == 0 and "still open" in capsys.readouterr().out
