"""MetricFlow's DuckDB SQL transpiled for Spark (finkpi.spark.metric_sql), checked without Spark:
relations lose the DuckDB database name, and the Spark SQL, read back into DuckDB's dialect and run
on the DuckDB build, gives MetricFlow's own result (the parity test runs it on Spark itself).
Also: `finkpi query` refuses the Spark target with a clear message."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest
import sqlglot
from sqlglot import exp

from finkpi.cli import main
from finkpi.metrics.engine import MetricEngine
from finkpi.spark.metric_sql import to_spark_sql

QUERIES = [
    (["revenue"], ["metric_time__month"]),
    (["gross_margin_pct"], ["metric_time__fiscal_quarter", "customer__region"]),
    (["on_time_delivery_rate"], ["metric_time__fiscal_year"]),
    (["dso"], ["metric_time__month"]),
    (["revenue"], ["metric_time__month", "product__product_category"]),
    (["complaint_rate"], ["metric_time__month"]),
]


@pytest.fixture(scope="module")
def explained(built, sample_settings):
    """(metrics, group_by, MetricFlow's DuckDB SQL, its result) for a few queries of each kind."""
    with MetricEngine(sample_settings) as engine:
        return [
            (metrics, group_by, engine.explain(metrics, group_by), engine.query(metrics, group_by))
            for metrics, group_by in QUERIES
        ]


def test_relations_are_schema_and_table_only(explained):
    for _metrics, _group_by, sql, _result in explained:
        assert '"finkpi"' in sql  # DuckDB names the database file; Spark has no such level
        tables = list(sqlglot.parse_one(to_spark_sql(sql), read="spark").find_all(exp.Table))
        assert tables
        for table in tables:
            assert not table.catalog, table.sql("spark")
            assert table.db in {"marts"}, table.sql("spark")


def test_transpiled_sql_means_what_metricflow_planned(explained, sample_settings):
    with duckdb.connect(str(sample_settings.build_database), read_only=True) as con:
        for metrics, group_by, sql, expected in explained:
            round_trip = sqlglot.transpile(to_spark_sql(sql), read="spark", write="duckdb")[0]
            actual = con.execute(round_trip).df()
            columns = [*group_by, *metrics]
            pd.testing.assert_frame_equal(
                actual[columns].sort_values(group_by, ignore_index=True),
                expected[columns].sort_values(group_by, ignore_index=True),
                check_dtype=False,
                check_exact=False,
                atol=1e-9,
            )


def test_query_says_it_runs_on_duckdb_only(monkeypatch, capsys):
    monkeypatch.setenv("FINKPI_ENV", "spark")
    assert main(["query", "--metrics", "revenue", "--group-by", "month"]) == 2
    assert "DuckDB build warehouse only (MetricFlow has no Spark adapter)" in capsys.readouterr().err
