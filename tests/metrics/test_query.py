"""`finkpi query`: MetricFlow-backed, one process; short names map to qualified ones; unknown names
get suggestions; the numbers are the exported ones."""

from __future__ import annotations

import subprocess
import sys

import pytest

from finkpi.metrics.engine import MetricEngine
from finkpi.metrics.query import QueryError, resolve_group_by, resolve_where, run_query
from finkpi.settings import PROJECT_DIR


@pytest.fixture
def engine(built, sample_settings):
    """A warm engine per test: it holds the warehouse open, which other processes must not meet."""
    with MetricEngine(sample_settings) as engine:
        yield engine


def test_short_names_map_to_qualified_names(engine):
    assert resolve_group_by(engine, ["revenue"], ["fiscal_quarter", "region", "product_category"]) == [
        "metric_time__fiscal_quarter",
        "customer__region",
        "product__product_category",
    ]
    assert resolve_group_by(engine, ["operating_expense"], ["department"]) == ["org_unit__department"]


def test_unknown_names_suggest_the_closest(engine):
    with pytest.raises(QueryError, match="unknown metric 'revenu'; did you mean revenue"):
        run_query(engine, ["revenu"], ["month"])
    with pytest.raises(QueryError, match="unknown group-by 'regin' .* did you mean region"):
        run_query(engine, ["revenue"], ["regin"])
    with pytest.raises(QueryError, match="unknown group-by 'department' for revenue"):
        run_query(engine, ["revenue"], ["department"])  # revenue has no department dimension


def test_where_in_plain_sql_over_short_names_becomes_metricflow_references(engine):
    where = resolve_where(engine, ["revenue"], "region = 'DACH' and product_category <> 'Pumps'")
    assert where == [
        "{{ Dimension('customer__region') }} = 'DACH'"
        " AND {{ Dimension('product__product_category') }} <> 'Pumps'"
    ]


def test_query_results_equal_the_exported_metric_values(metric_values, engine):
    frame = run_query(
        engine, ["revenue", "gross_margin_pct"], ["fiscal_quarter", "region"], where="region = 'DACH'"
    )
    assert set(frame["customer__region"]) == {"DACH"}
    exported = metric_values[
        (metric_values["metric_name"] == "revenue")
        & (metric_values["grain"] == "quarter")
        & (metric_values["dimension"] == "region")
        & (metric_values["dimension_value"] == "DACH")
    ].set_index("period_start")["value"]
    for start, revenue in zip(frame["metric_time__fiscal_quarter"].dt.date, frame["revenue"], strict=True):
        assert revenue == pytest.approx(exported[start], abs=0.005)


def test_the_command_line_prints_csv_and_fails_clearly(built, sample_settings):
    finkpi = [
        sys.executable,
        "-m",
        "finkpi.cli",
        "query",
        "--warehouse-dir",
        str(sample_settings.warehouse_dir),
    ]
    ok = subprocess.run(
        [*finkpi, "--metrics", "revenue,cogs", "--group-by", "year", "--format", "csv"],
        cwd=PROJECT_DIR, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    header, *rows = ok.stdout.strip().splitlines()
    assert header == "metric_time__year,revenue,cogs" and len(rows) == 3
    bad = subprocess.run(
        [*finkpi, "--metrics", "revenue", "--group-by", "regin"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "did you mean region" in bad.stderr
