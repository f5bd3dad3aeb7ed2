"""Lineage of the scorecard tables (written by Python, declared in finkpi.scorecards.run): every
column declared, every declared upstream column real, the declared columns the values truly come
from (checked against metric_values and the seed files with pandas), and the chain of a scorecard
column down to raw source columns written out by hand."""

from __future__ import annotations

import json
from datetime import timedelta

import pandas as pd
import pytest

from finkpi.cli import main as cli
from finkpi.lineage import published
from finkpi.lineage.published import _cache_file, published_lineage
from finkpi.lineage.scorecards import COLUMN_LINEAGE
from finkpi.settings import PROJECT_DIR

SEEDS = PROJECT_DIR / "seeds" / "targets"
KEYS = ["metric_name", "grain", "period_start"]


@pytest.fixture(scope="module")
def lineage(built, sample_settings):
    return published_lineage(sample_settings)


@pytest.fixture(scope="module")
def tables(warehouse):
    return {
        name: warehouse.execute(f"select * from metrics.{name}").df()
        for name in [*COLUMN_LINEAGE, "metric_values", "metric_catalog"]
    }


@pytest.mark.parametrize("table", sorted(COLUMN_LINEAGE))
def test_every_column_of_a_scorecard_table_has_declared_lineage(tables, table):
    assert list(tables[table].columns) == list(COLUMN_LINEAGE[table])


def test_every_declared_upstream_column_exists(tables):
    seed_columns = {
        f"seeds.{path.stem}": set(pd.read_csv(path, nrows=0).columns) for path in SEEDS.glob("*.csv")
    }
    built_columns = {
        f"metrics.{name}": set(tables[name].columns) for name in ("metric_values", "metric_catalog")
    }
    missing = [
        f"{table}.{column} <- {up.relation}.{up.column}"
        for table, columns in COLUMN_LINEAGE.items()
        for column, ups in columns.items()
        for up in ups
        if up.column not in {**seed_columns, **built_columns}.get(up.relation, set())
    ]
    assert not missing, missing


def _values(tables) -> pd.DataFrame:
    values = tables["metric_values"].copy()
    values["period_start"] = pd.to_datetime(values["period_start"])
    return values


def test_scorecard_actuals_are_the_declared_metric_values(tables):
    """scorecard_lines.actual <- metric_values.value: the department's slice where the metric has
    one, else the company total (what the declaration and README say)."""
    values = _values(tables)
    lines = tables["scorecard_lines"].copy()
    lines["period_start"] = pd.to_datetime(lines["period_start"])
    by_department = set(values.loc[values["dimension"] == "department", "metric_name"])
    lines["dimension"] = [
        "department" if unit != "Company" and metric in by_department else "total"
        for unit, metric in zip(lines["org_unit"], lines["metric_name"], strict=True)
    ]
    lines["dimension_value"] = [
        unit if dim == "department" else "all"
        for unit, dim in zip(lines["org_unit"], lines["dimension"], strict=True)
    ]
    merged = lines.merge(values, on=[*KEYS, "dimension", "dimension_value"], how="left", suffixes=("", "_mv"))
    assert len(merged) == len(lines) > 100
    scored = merged[merged["actual"].notna()]
    assert (scored["actual"] - scored["value"]).abs().max() < 1e-9


def test_scorecard_targets_are_the_declared_seed_columns(tables):
    seed = pd.read_csv(SEEDS / "scorecard_targets.csv", parse_dates=["period_start"])
    lines = tables["scorecard_lines"].dropna(subset=["target_version"]).copy()
    lines["period_start"] = pd.to_datetime(lines["period_start"])
    lines["version"] = lines["target_version"].astype(int)
    merged = lines.merge(seed, on=["metric_name", "org_unit", *KEYS[1:], "version"], suffixes=("", "_seed"))
    assert len(merged) == len(lines) > 100
    for column in ("target", "floor", "stretch"):
        assert (merged[column] - merged[f"{column}_seed"]).abs().max() < 1e-9, column


def test_attribution_values_are_the_declared_metric_and_driver_values(tables):
    values = _values(tables)
    totals = values[values["dimension"] == "total"][[*KEYS, "value"]]
    attribution = tables["driver_attribution"].copy()
    attribution["period_start"] = pd.to_datetime(attribution["period_start"])
    metric = attribution.merge(totals, on=KEYS)
    driver = attribution.merge(
        totals.rename(columns={"metric_name": "driver_metric"}), on=["driver_metric", *KEYS[1:]]
    )
    assert len(metric) == len(driver) == len(attribution) > 0
    assert (metric["metric_value"] - metric["value"]).abs().max() < 1e-9
    assert (driver["driver_value"] - driver["value"]).abs().max() < 1e-9


# what an auditor would write down: the raw columns behind two scored metrics
ON_TIME = {("erp.deliveries", "actual_date"), ("erp.sales_order_lines", "promised_date")}
WIN_RATE = {("crm.Opportunity", "IsClosed"), ("crm.Opportunity", "IsWon")}


def test_a_scorecard_column_leads_through_metric_values_to_raw_columns(lineage, tables):
    actual = lineage.of_column("scorecard_lines", "actual")
    assert [child.label for child in actual.upstream] == ["metrics.metric_values.value"]
    scored = set(tables["scorecard_lines"]["metric_name"])
    metrics_reached = {child.relation for child in actual.upstream[0].upstream}
    assert metrics_reached == scored
    assert actual.sources() >= ON_TIME | WIN_RATE
    # and nothing but the scored metrics' own raw columns
    assert actual.sources() == set().union(*(lineage.of_metric(name).sources() for name in scored))


def test_a_target_column_ends_at_the_seed(lineage):
    score = lineage.of_column("scorecard_lines", "score")
    assert {("seeds.scorecard_targets", c) for c in ("floor", "target", "stretch")} <= score.sources()
    target = lineage.of_column("scorecard_lines", "target")
    assert target.sources() == {("seeds.scorecard_targets", "target")}


def test_attribution_driver_values_lead_to_the_drivers_not_the_metric(lineage, tables):
    driver_value = lineage.of_column("driver_attribution", "driver_value")
    drivers = set(tables["driver_attribution"]["driver_metric"])
    assert {child.relation for child in driver_value.upstream[0].upstream} == drivers


def test_lineage_is_cached_per_definitions_and_models(built, sample_settings, lineage):
    again = published_lineage(sample_settings)
    assert again.from_cache and again.cache_file == lineage.cache_file
    trees = {name: tree.to_dict() for name, tree in lineage.metrics.items()}
    assert {name: tree.to_dict() for name, tree in again.metrics.items()} == trees


def test_the_lineage_cache_key_follows_definitions_not_the_run_dates(sample_settings, monkeypatch):
    """The key moves with the definitions, the dbt target and the kind of run, not with the run's
    as-of date (it moves every day, a column does not)."""
    settings = sample_settings.resolved()
    catalog = [("revenue", "simple", "select 1")]
    key = _cache_file(settings, "metrics", catalog)
    assert (
        _cache_file(settings.with_(as_of_date=settings.as_of_date - timedelta(days=1)), "metrics", catalog)
        == key
    )
    assert _cache_file(settings.with_(incremental=True), "metrics", catalog) != key
    assert _cache_file(settings, "metrics", [("revenue", "simple", "select 2")]) != key
    monkeypatch.setattr(published, "build_definitions_hash", lambda settings: "another model")
    assert _cache_file(settings, "metrics", catalog) != key


def test_lineage_command_takes_a_scorecard_column(built, sample_settings, capsys):
    warehouse = ["--warehouse-dir", str(sample_settings.warehouse_dir)]
    assert cli(["lineage", "scorecard_lines.actual", "--format", "json", *warehouse]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["kind"] == "table" and document["upstream"][0]["relation"] == "metrics.metric_values"
    assert cli(["lineage", "scorecard_lines.target", *warehouse]) == 0
    assert "seeds.scorecard_targets.target  [seed]" in capsys.readouterr().out
    assert cli(["lineage", "scorecard_lines.no_such_column", *warehouse]) == 2
    assert "scorecard_lines has no column 'no_such_column'" in capsys.readouterr().err
