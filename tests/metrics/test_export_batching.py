"""The batched, cached metric export against the per-metric, freshly planned one (the reference
path, `batched=False` without a cache), on the session build: every key exact, every value within
1e-9 relative, is_complete and labels equal. And the plan cache: a warm export plans nothing and
never builds MetricFlow; a changed semantic manifest misses; a corrupt or foreign file is ignored.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from datetime import date

import pandas as pd
import pytest

from finkpi.metrics import plan_cache as plan_cache_module
from finkpi.metrics.catalog import Catalog, Measure, load_catalog
from finkpi.metrics.definition import MetricDefinition
from finkpi.metrics.engine import MetricEngine, MetricRequest
from finkpi.metrics.exports import (
    MetricExporter,
    compute_exports,
    read_calendar,
    read_companies,
)
from finkpi.metrics.plan_cache import PlanCache, PlanCacheWarning, manifest_hash

KEYS = ["metric_name", "grain", "dimension", "dimension_value", "period_start"]


class MetricFlowForbidden(MetricEngine):
    """An engine that fails if anything needs MetricFlow (a warm run must not)."""

    def _build_metricflow(self):
        raise AssertionError("MetricFlow's engine was built although every plan was cached")


def _export(settings, engine_class, batched: bool, cache: PlanCache | None):
    calendar = read_calendar(settings.build_database)
    companies = read_companies(settings.build_database)
    with engine_class(settings) as engine:
        result, _history = compute_exports(
            settings, engine, calendar, companies, "test", lambda _m: None, batched=batched, cache=cache
        )
        return result, engine.is_built


@pytest.fixture(scope="module")
def exports(built, sample_settings, tmp_path_factory):
    """The reference export, the batched one with an empty plan cache (cold), and again (warm)."""
    cache_dir = tmp_path_factory.mktemp("plan_cache")
    reference, _ = _export(sample_settings, MetricEngine, batched=False, cache=None)
    cold, _ = _export(sample_settings, MetricEngine, batched=True, cache=_cache(sample_settings, cache_dir))
    warm, warm_built = _export(
        sample_settings, MetricFlowForbidden, batched=True, cache=_cache(sample_settings, cache_dir)
    )
    return {"reference": reference, "cold": cold, "warm": warm, "warm_built": warm_built, "dir": cache_dir}


def _cache(settings, directory) -> PlanCache:
    return PlanCache(directory, manifest_hash(settings.project_dir))


def _is_null(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _assert_equal_exports(reference: pd.DataFrame, other: pd.DataFrame, name: str) -> None:
    merged = reference.merge(other, on=KEYS, how="outer", suffixes=("_ref", "_new"), indicator=True)
    one_sided = merged[merged["_merge"] != "both"]
    assert one_sided.empty, f"{name}: keys on one side only:\n{one_sided[[*KEYS, '_merge']].head(20)}"
    differing = [
        (key, a, b)
        for key, a, b in zip(
            merged[KEYS].itertuples(index=False), merged["value_ref"], merged["value_new"], strict=True
        )
        if _is_null(a) != _is_null(b) or (not _is_null(a) and abs(a - b) > 1e-9 * max(abs(a), abs(b)))
    ]
    assert not differing, f"{name}: {len(differing)} values differ, e.g. {differing[:5]}"
    for column in ("is_complete", "period_label"):
        wrong = merged[merged[f"{column}_ref"] != merged[f"{column}_new"]]
        assert wrong.empty, f"{name}: {column} differs:\n{wrong[KEYS].head(10)}"


def test_the_batched_cached_export_equals_the_per_metric_reference(exports):
    reference = exports["reference"]
    for name in ("cold", "warm"):
        result = exports[name]
        _assert_equal_exports(reference.values, result.values, name)
        pd.testing.assert_frame_equal(
            reference.catalog.drop(columns=["run_id"]), result.catalog.drop(columns=["run_id"])
        )
    # the batching happened: fewer requests, most metrics answered by shared ones
    cold = exports["cold"].stats
    assert cold.queries < reference.stats.queries / 1.5, (cold.queries, reference.stats.queries)
    assert cold.batched_metrics > 2 * cold.fallbacks
    assert len(cold.request_seconds) == cold.queries
    assert any("+" in label for label in cold.request_seconds)
    # metrics that sum up were asked once, at month grain by all their dimensions at once
    labels = list(cold.request_seconds)
    (revenue,) = [label for label in labels if label.startswith("cogs+revenue @ month by ")]
    assert ", " in revenue and "customer__region" in revenue
    with_revenue = [label for label in labels if "revenue" in label.split(" @ ")[0].split("+")]
    assert revenue in with_revenue and all(" @ month by " in label for label in with_revenue)
    # derived metrics of distinct counts and balances were evaluated from their leaves' rows
    asked = {metric for label in labels for metric in label.split(" @ ")[0].split("+")}
    assert not asked & {"average_order_value", "repeat_purchase_rate", "dso", "ar_collection_rate"}
    assert {"orders_booked", "active_customers", "receivables_closing"} <= asked


def test_a_warm_export_plans_nothing_and_builds_no_metricflow(exports):
    cold, warm = exports["cold"].stats, exports["warm"].stats
    # cold, a metric's definition SQL is the same request as its month total asked alone
    assert cold.plans_compiled > cold.plans_cached
    assert warm.plans_compiled == 0
    assert warm.plans_cached == cold.plans_compiled + cold.plans_cached
    assert not exports["warm_built"]
    assert warm.queries == cold.queries


def test_no_dbt_variable_reaches_the_compiled_sql(exports, sample_settings):
    """The cache key holds no dbt variable because none is in the SQL (the exports filter by
    as_of_date in pandas); were one to appear, the key would have to include it."""
    (path,) = exports["dir"].glob("*.json")
    stored = json.loads(path.read_text())
    sqls = list(stored["plans"].values())
    assert len(sqls) >= exports["cold"].stats.queries
    variables = sample_settings.dbt_vars()
    dates = {variables["as_of_date"]} | {source["as_of_date"] for source in variables["sources"].values()}
    dates |= set(variables["closed_periods"])
    assert dates and all(isinstance(value, str) for value in dates)
    for sql in sqls:
        found = [value for value in dates if value in sql]
        assert not found, f"the compiled SQL holds dbt variable values {found}:\n{sql[:500]}"


def test_a_changed_semantic_manifest_misses_the_cache(exports, built, sample_settings, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    for entry in sample_settings.project_dir.iterdir():
        if entry.name != "target":
            (project / entry.name).symlink_to(entry.resolve())
    (project / "target").mkdir()
    manifest = json.loads((sample_settings.project_dir / "target" / "semantic_manifest.json").read_text())
    (measure,) = [
        measure
        for model in manifest["semantic_models"]
        for measure in model["measures"]
        if measure["name"] == "revenue_amount"
    ]
    measure["expr"] = f"2 * ({measure['expr']})"  # revenue is now twice what it was
    (project / "target" / "semantic_manifest.json").write_text(json.dumps(manifest))
    changed = sample_settings.with_(project_dir=project)

    request = MetricRequest.of(["revenue"], ["metric_time__month"])
    old = _cache(sample_settings, exports["dir"])
    assert old.plan(request, _never) and old.hits == 1  # the original manifest's plan is cached
    new = _cache(changed, exports["dir"])
    assert new.path != old.path
    with MetricEngine(changed) as engine:
        sql = new.plan(request, engine.compile)
        assert new.misses == 1 and new.hits == 0
        assert "2 * (" in sql and sql != old.plan(request, _never)


def _never(*_args):
    raise AssertionError("planned although cached")


@pytest.mark.parametrize(
    "content",
    ['{"key": {"format": 1}, "plans": {', "not json at all", "FOREIGN", '{"key": "KEY", "plans": {"x": 1}}'],
    ids=["half-written", "garbage", "another manifest", "not text"],
)
def test_a_corrupt_or_foreign_cache_file_is_ignored(exports, sample_settings, tmp_path, content):
    directory = tmp_path / "plan_cache"
    shutil.copytree(exports["dir"], directory)
    cache = _cache(sample_settings, directory)
    good = json.loads(cache.path.read_text())
    if content == "FOREIGN":  # a complete file whose key names another manifest
        good["key"] = {**good["key"], "semantic_manifest_sha256": "0" * 64}
        content = json.dumps(good)
    elif "KEY" in content:
        content = json.dumps({**good, "plans": {MetricRequest.of(["revenue"], ["x"]).canonical(): 1}})
    cache.path.write_text(content)
    with pytest.warns(PlanCacheWarning, match="ignoring the metric plan cache"):
        ignored = _cache(sample_settings, directory)
    request = MetricRequest.of(["revenue"], ["metric_time__month"])
    expected = _cache(sample_settings, exports["dir"]).plan(request, _never)
    assert ignored.plan(request, lambda _r: expected) == expected
    assert ignored.misses == 1 and ignored.hits == 0
    ignored.save()  # rewritten whole, readable again
    assert _cache(sample_settings, directory).plan(request, _never) == expected


def test_a_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    cache = PlanCache(tmp_path, "a" * 64)
    request = MetricRequest.of(["m"], ["metric_time__month"])
    cache.plan(request, lambda _r: "select 1")
    cache.save()
    before = cache.path.read_text()
    cache.plan(MetricRequest.of(["n"], ["metric_time__month"]), lambda _r: "select 2")

    def broken_dump(value, file):
        file.write('{"key": ')
        raise OSError("disk full")

    monkeypatch.setattr(plan_cache_module.json, "dump", broken_dump)
    with pytest.raises(OSError, match="disk full"):
        cache.save()
    assert cache.path.read_text() == before
    assert [path.name for path in tmp_path.iterdir()] == [cache.path.name]  # no temporary left


def test_a_batched_series_undefined_throughout_is_asked_alone():
    """_from_batch on hand-made rows: a series NULL throughout (which a multi-metric request
    cannot tell from one another metric added) sends the metric to a request of its own; extra
    NULL rows in a series with a value are kept; a NULL slice value that came back twice keeps
    the row with the value."""
    companies = pd.DataFrame(
        {"company_code": ["C1"], "source_system": ["erp"], "as_of_date": [date(2024, 3, 31)]}
    )
    exporter = MetricExporter(None, None, None, date(2024, 6, 30), companies)
    jan, feb, apr = date(2024, 1, 1), date(2024, 2, 1), date(2024, 4, 1)
    rows = pd.DataFrame(
        {
            "period_start": [jan, feb, jan, jan],
            "dimension_value": ["DACH", "DACH", "(unassigned)", "(unassigned)"],
            "value": [1.0, None, None, 2.0],
        }
    )
    kept = exporter._from_batch(rows, "region")
    assert kept is not None
    assert [
        (start, value, None if _is_null(number) else number)
        for start, value, number in zip(
            kept["period_start"], kept["dimension_value"], kept["value"], strict=True
        )
    ] == [(jan, "DACH", 1.0), (feb, "DACH", None), (jan, "(unassigned)", 2.0)]
    undefined = pd.concat(
        [rows, pd.DataFrame({"period_start": [jan], "dimension_value": ["Nordics"], "value": [None]})]
    )
    assert exporter._from_batch(undefined, "region") is None
    # a company's slice with a value only after the company's own as_of_date is undefined in its window
    company = pd.DataFrame(
        {"period_start": [jan, apr], "dimension_value": ["C1", "C1"], "value": [None, 5.0]}
    )
    assert exporter._from_batch(company, "company_code") is None
    assert exporter._from_batch(company, "region") is not None


def test_the_cache_keeps_the_files_of_the_latest_manifests(tmp_path):
    written = []
    for number in range(plan_cache_module.KEEP_FILES + 3):
        cache = PlanCache(tmp_path, f"{number:064x}")
        cache.plan(MetricRequest.of(["m"], ["metric_time__month"]), lambda _r, n=number: f"select {n}")
        cache.save()
        os.utime(cache.path, (number, number))  # written in this order, whatever the clock's grain
        written.append(cache.path.name)
    kept = {path.name for path in tmp_path.glob("*.json")}
    assert kept == set(written[-plan_cache_module.KEEP_FILES :])


def test_which_metrics_sum_up_from_months_and_finer_slices(built, sample_settings):
    """Catalog.sums_up on the project's definitions and on hand-made ones: sums and counts of
    flows and derived metrics of them do; distinct counts, averages, balances, and anything
    filtered or offset do not."""
    catalog = load_catalog(sample_settings.project_dir)
    assert all(
        catalog.sums_up(name)
        for name in ("revenue", "gross_margin_pct", "complaint_rate", "open_cases", "new_customers")
    )
    assert not any(
        catalog.sums_up(name)
        for name in (
            "active_customers",
            "average_order_value",
            "sales_cycle_days",
            "dso",
            "repeat_purchase_rate",
        )
    )

    def metric(name, kind="simple", **fields):
        return MetricDefinition(name=name, label=name, description=name, metric_type=kind, meta={}, **fields)

    hand_made = Catalog(
        metrics={
            "flow": metric("flow", measure="amount"),
            "filtered": metric("filtered", measure="amount", period_dependent=True),
            "ratio": metric(
                "ratio",
                "derived",
                expr="flow / filtered",
                inputs=(("flow", "flow"), ("filtered", "filtered")),
            ),
            "share": metric("share", "derived", expr="flow / flow", inputs=(("flow", "flow"),)),
        },
        measures={"amount": Measure("amount", "facts", "sum", "amount", None)},
    )
    assert hand_made.sums_up("flow") and hand_made.sums_up("share")
    assert not hand_made.sums_up("filtered") and not hand_made.sums_up("ratio")


def test_a_derived_metric_fills_a_missing_input_as_metricflow_does():
    """_evaluate on hand-made rows: where an input with fill_nulls_with has no row, MetricFlow's
    join of a derived metric's inputs gives it that value (complaints 0 where only deliveries are);
    an input without one stays NULL."""
    jan, feb = date(2024, 1, 1), date(2024, 2, 1)

    def metric(name, kind="simple", **fields):
        return MetricDefinition(name=name, label=name, description=name, metric_type=kind, meta={}, **fields)

    catalog = Catalog(
        metrics={
            "complaints": metric("complaints", measure="c", fill_nulls_with=0),
            "deliveries": metric("deliveries", measure="d"),
            "rate": metric(
                "rate", "derived", expr="complaints * 100.0 / nullif(deliveries, 0)",
                inputs=(("complaints", "complaints"), ("deliveries", "deliveries")),
            ),
        }
    )  # fmt: skip
    exporter = MetricExporter(None, catalog, None, date(2024, 6, 30), _no_companies())
    rows = exporter._evaluate(
        "rate",
        {
            "complaints": pd.DataFrame(
                {"period_start": [jan], "dimension_value": ["all"], "complaints": [3]}
            ),
            "deliveries": pd.DataFrame(
                {"period_start": [jan, feb], "dimension_value": ["all", "all"], "deliveries": [60, 40]}
            ),
        },
    )
    assert sorted(zip(rows["period_start"], rows["value"], strict=True)) == [(jan, 5.0), (feb, 0.0)]
    reversed_rows = exporter._evaluate(
        "rate",
        {
            "complaints": pd.DataFrame(
                {"period_start": [jan, feb], "dimension_value": ["all", "all"], "complaints": [3, 2]}
            ),
            "deliveries": pd.DataFrame(
                {"period_start": [jan], "dimension_value": ["all"], "deliveries": [60]}
            ),
        },
    )
    values = dict(zip(reversed_rows["period_start"], reversed_rows["value"], strict=True))
    assert values[jan] == 5.0 and _is_null(values[feb])


def _no_companies() -> pd.DataFrame:
    return pd.DataFrame({"company_code": [], "source_system": [], "as_of_date": []})


def test_a_slice_undefined_throughout_is_withheld_only_where_the_metric_says_so():
    """_densified on hand-made rows: a slice value NULL in every period (inventory turnover of a
    raw-material category, which has no cost of goods sold) is not published for a metric whose
    meta says withhold_undefined_slices; another metric keeps it as NULL; a slice value with one
    value keeps its NULL periods; the total is never withheld."""
    jan, feb, mar = date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1)

    def metric(name, meta):
        return MetricDefinition(name=name, label=name, description=name, metric_type="derived", meta=meta)

    catalog = Catalog(
        metrics={
            "turnover": metric("turnover", {"withhold_undefined_slices": True}),
            "plain": metric("plain", {}),
        }
    )
    days = pd.date_range("2024-01-01", "2024-03-31").date
    calendar = pd.DataFrame(
        {
            "date_day": days,
            "month_start": [d.replace(day=1) for d in days],
            "fiscal_quarter_start": [jan] * len(days),
            "fiscal_year_start": [jan] * len(days),
        }
    )
    exporter = MetricExporter(None, catalog, calendar, date(2024, 3, 31), _no_companies())
    rows = pd.DataFrame(
        [
            (name, "month", dimension, value, start, number)
            for name in ("turnover", "plain")
            for dimension, value, numbers in (
                ("product_category", "Pumps", [2.0, None, 3.0]),
                ("product_category", "Steel", [None, None, None]),
                ("total", "all", [None, None, None]),
            )
            for start, number in zip((jan, feb, mar), numbers, strict=True)
        ],
        columns=["metric_name", "grain", "dimension", "dimension_value", "period_start", "value"],
    )
    published = exporter._densified(rows)
    series = {
        (name, value): sorted((start, None if _is_null(number) else number) for start, number in group)
        for (name, value), group in (
            (key, list(zip(frame["period_start"], frame["value"], strict=True)))
            for key, frame in published.groupby(["metric_name", "dimension_value"])
        )
    }
    assert ("turnover", "Steel") not in series
    assert series[("plain", "Steel")] == [(jan, None), (feb, None), (mar, None)]
    assert series[("turnover", "Pumps")] == [(jan, 2.0), (feb, None), (mar, 3.0)]
    assert series[("turnover", "all")] == [(jan, None), (feb, None), (mar, None)]
