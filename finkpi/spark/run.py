"""One run on the Spark target (FINKPI_ENV=spark): pre-flight, dbt build, metric exports.

What stays on DuckDB, the default target: dbt's data tests (their SQL is DuckDB's; the same
project and data are tested on DuckDB, and the parity test compares the results), scorecards,
the Great Expectations gate and publishing (the published layer is a DuckDB file and Parquet for
BI tools). A Spark run stops after the exports and says so.
"""

from __future__ import annotations

import time

from finkpi import dbt_runner
from finkpi.quality import preflight
from finkpi.run import Run
from finkpi.settings import Settings
from finkpi.spark.exports import export_metrics_on_spark, mart_tables
from finkpi.spark.session import spark_session  # pyspark itself is imported when a session starts


def spark_stages(run: Run, first: int) -> None:
    """The stages of `run` on Spark (it is started and ended by the pipeline, as on DuckDB): its
    summary says where the tables are and what the build and exports did."""
    settings, summary, progress = run.settings, run.summary, run.progress
    if first > 1:
        raise ValueError("publishing runs on the DuckDB target only; unset FINKPI_ENV to publish")
    summary.warehouse = settings.warehouse_dir / "spark" / "warehouse"  # the Spark tables' folder
    if first <= 0:
        progress(
            f"[1/2] pre-flight of the raw files, dbt build on Spark: seeds and models"
            f" (as_of_date {summary.as_of_date}, data {settings.data_dir})"
        )
        started = time.perf_counter()
        preflight.check(settings)
        dbt_runner.build(settings, resource_types=["seed", "model"])
        summary.seconds["dbt build (spark)"] = time.perf_counter() - started
        summary.mart_rows = mart_row_counts(settings)

    progress("[2/2] metric exports (MetricFlow plans on DuckDB, Spark runs the SQL)")
    started = time.perf_counter()
    exported = export_metrics_on_spark(settings, summary.run_id, progress)
    summary.seconds["metric exports (spark)"] = time.perf_counter() - started
    summary.record_exports(exported)
    progress(
        "dbt data tests, scorecards, the quality gate and publishing run on the DuckDB target only:"
        " skipped on Spark"
    )


def mart_row_counts(settings: Settings) -> dict[str, int]:
    spark = spark_session(settings)
    return {
        name: spark.sql(f"select count(*) from marts.{name}").collect()[0][0] for name in mart_tables(spark)
    }
