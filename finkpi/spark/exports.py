"""Metric exports on Spark: planned by MetricFlow against DuckDB, run on Spark.

MetricFlow has no Spark adapter, but its semantic manifest does not depend on the warehouse and
its engine needs a DuckDB connection only to plan. `SparkMetricEngine` therefore opens MetricFlow
on an empty planning DuckDB file (`<warehouse>/spark/planning/finkpi.duckdb`), asks it for each
query's SQL (`compile`, cached in `<warehouse>/spark/planning/plan_cache/` like DuckDB's plans),
and its `run_sql` transpiles that to Spark SQL (finkpi.spark.metric_sql) and runs it in the Spark
session dbt built the models in. Everything after the queries (fiscal roll-ups of balances,
densifying, year-on-year growth, labels) is the same code as on DuckDB (finkpi.metrics.exports),
so both targets produce `metric_values` the same way. The tables land in Spark schema `metrics`.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable
from decimal import Decimal

import pandas as pd

from finkpi import contract, dbt_runner
from finkpi.metrics.engine import MetricEngine
from finkpi.metrics.exports import COMPANIES_SQL, ExportResult, companies_frame, compute_exports
from finkpi.metrics.plan_cache import PlanCache
from finkpi.settings import Settings
from finkpi.spark.metric_sql import to_spark_sql
from finkpi.spark.session import spark_session


def planning_settings(settings: Settings) -> Settings:
    """DuckDB settings MetricFlow plans with: the local target on an empty planning file."""
    return settings.with_(env="local", warehouse_dir=settings.warehouse_dir / "spark" / "planning")


class SparkMetricEngine(MetricEngine):
    """MetricEngine whose SQL runs on Spark; discovery and `compile` stay MetricFlow's own."""

    def __init__(self, settings: Settings):
        planning = planning_settings(settings)
        planning.warehouse_dir.mkdir(parents=True, exist_ok=True)
        # MetricFlow reads target/semantic_manifest.json, whose relation names are rendered by the
        # target that parsed it: a Spark parse names them `marts.x`, DuckDB `"finkpi"."marts"."x"`.
        # Parsed for DuckDB, the planned SQL (and so each definition hash) is exactly DuckDB's.
        result = dbt_runner.invoke(planning, ["--quiet", "parse"])
        if not result.success:
            raise RuntimeError(f"dbt parse for MetricFlow's DuckDB planning failed: {result.exception}")
        super().__init__(planning)
        self.spark_settings = settings
        self.spark = spark_session(settings)
        # hundreds of small queries read the same marts: keep them in memory, not in Parquet
        for name in mart_tables(self.spark):
            self.spark.sql(f"cache table marts.{name}")
        self.spark_seconds = 0.0

    def run_sql(self, sql: str) -> pd.DataFrame:
        """MetricFlow's DuckDB SQL, transpiled, run on Spark."""
        started = time.perf_counter()
        frame = run_on_spark(self.spark, to_spark_sql(sql))
        self.spark_seconds += time.perf_counter() - started
        return frame

    def close(self) -> None:
        self.spark.catalog.clearCache()
        super().close()


def mart_tables(spark) -> list[str]:
    """The tables of schema marts (`show tables` also lists the session's temporary views)."""
    rows = spark.sql("show tables in marts").collect()
    return sorted(row.tableName for row in rows if not row.isTemporary)


def run_on_spark(spark, sql: str) -> pd.DataFrame:
    """A Spark query as pandas, decimals as floats (MetricFlow's DuckDB results are floats too).
    Rows are collected rather than converted with toPandas(): pyspark 4.3 does not support pandas 3."""
    result = spark.sql(sql)
    columns = list(result.columns)
    rows = [tuple(float(v) if isinstance(v, Decimal) else v for v in row) for row in result.collect()]
    return pd.DataFrame(rows, columns=columns)


def read_calendar(spark) -> pd.DataFrame:
    calendar = run_on_spark(
        spark,
        "select date_day, month_start, fiscal_quarter_start, fiscal_year_start, month_label,"
        " fiscal_quarter_label, fiscal_year_label from marts.dim_dates",
    )
    for column in ("date_day", "month_start", "fiscal_quarter_start", "fiscal_year_start"):
        calendar[column] = pd.to_datetime(calendar[column]).dt.date
    return calendar


def export_metrics_on_spark(
    settings: Settings, run_id: str, progress: Callable[[str], None] = lambda _m: None
) -> ExportResult:
    """`finkpi.metrics.exports.export_metrics` for the Spark target: the same checks and values,
    written to Spark tables metrics.metric_values, metric_catalog and metric_definition_history."""
    with SparkMetricEngine(settings) as engine:
        calendar = read_calendar(engine.spark)
        companies = companies_frame(run_on_spark(engine.spark, COMPANIES_SQL))
        # the planning settings: the manifest the engine's parse wrote, the planning folder
        cache = PlanCache.for_settings(engine.settings)
        result, history = compute_exports(
            settings, engine, calendar, companies, run_id, progress, cache=cache
        )
        progress(
            f"  {result.stats.queries} metric queries on Spark: {engine.spark_seconds:.0f} s in Spark"
            f" of {result.stats.seconds:.0f} s"
        )
        write_tables(
            engine.spark,
            contract.step_tables(
                contract.EXPORT_STEP,
                metric_values=result.values,
                metric_catalog=result.catalog,
                metric_definition_history=history,
            ),
        )
    return result


def write_tables(spark, tables: dict[str, pd.DataFrame]) -> None:
    """Replace tables in Spark schema `metrics` (Parquet, in the Spark warehouse)."""
    spark.sql("create schema if not exists metrics")
    for name, frame in tables.items():
        schema = spark_schema(frame)
        rows = [tuple(_plain(v) for v in row) for row in frame.itertuples(index=False, name=None)]
        spark.sql(f"drop table if exists metrics.{name}")
        spark.createDataFrame(rows, schema=schema).write.format("parquet").saveAsTable(f"metrics.{name}")


def spark_schema(frame: pd.DataFrame) -> str:
    """A Spark DDL schema for a pandas frame, from each column's first non-null value."""
    fields = []
    for column in frame.columns:
        sample = next((v for v in frame[column] if _plain(v) is not None), None)
        fields.append(f"`{column}` {_spark_type(sample)}")
    return ", ".join(fields)


def _spark_type(value) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "bigint"
    if isinstance(value, float):
        return "double"
    if isinstance(value, dt.datetime | pd.Timestamp):
        return "timestamp"
    if isinstance(value, dt.date):
        return "date"
    if isinstance(value, list | tuple):
        return "array<string>"
    return "string"


def _plain(value):
    """A pandas cell as a plain Python value Spark accepts (NaN and NaT are NULL)."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item") and not isinstance(value, list | tuple | str):  # numpy scalars
        return value.item()
    if hasattr(value, "tolist"):  # numpy arrays (list columns)
        return value.tolist()
    return value
