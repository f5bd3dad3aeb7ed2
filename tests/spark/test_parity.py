"""The same project on Spark gives the same metric layer as on DuckDB (make test-spark).

The bundled sample is built twice, on DuckDB (dbt build with every data test, then the metric
exports) and on Spark (`finkpi run` with FINKPI_ENV=spark: dbt-spark session, then the exports
MetricFlow plans on DuckDB and Spark runs after sqlglot transpiles them). Every metric_values row
must be in both, with equal labels and completeness, and values equal within rounding. Also equal:
the row count of every mart, and the file line each staging row points at.

Needs the Spark extra (.venv-spark: `make test-spark`); a Spark build of the sample takes a few
minutes, so the module is marked slow.
"""

from __future__ import annotations

import math
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from finkpi import dbt_runner, pipeline
from finkpi.metrics.exports import export_metrics
from finkpi.settings import load_settings

pytestmark = [pytest.mark.spark, pytest.mark.slow]

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "data" / "sample"
KEYS = ["metric_name", "grain", "dimension", "dimension_value", "period_start"]
# Money is exact decimals on both engines; ratios and averages are doubles whose last bits can
# differ with the order of a sum. Half a cent, or 1e-9 relative, whichever is larger.
ABS_TOLERANCE = 0.005
REL_TOLERANCE = 1e-9


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    try:
        import pyspark  # noqa: F401
    except ImportError:
        pytest.fail("pyspark is not installed here: run `make test-spark` (it sets up .venv-spark)")
    root = tmp_path_factory.mktemp("parity")
    duck = load_settings(env="local", warehouse_dir=root / "duckdb", data_dir=SAMPLE_DIR)
    spark = load_settings(env="spark", warehouse_dir=root / "spark", data_dir=SAMPLE_DIR)

    dbt_runner.build(duck, quiet=True)
    export_metrics(duck, run_id="duckdb")
    summary = pipeline.run(spark, progress=print)
    return duck, spark, summary


@pytest.fixture(scope="module")
def spark_session(builds):
    from finkpi.spark.session import spark_session

    return spark_session(builds[1])


def duckdb_frame(settings, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(settings.build_database), read_only=True) as con:
        return con.execute(sql).df()


def spark_frame(spark, sql: str) -> pd.DataFrame:
    from finkpi.spark.exports import run_on_spark

    return run_on_spark(spark, sql)


def test_every_metric_value_is_equal_on_duckdb_and_spark(builds, spark_session):
    duck, _spark, _summary = builds
    columns = "metric_name, grain, dimension, dimension_value, period_start, period_label, is_complete, value"
    on_duckdb = duckdb_frame(duck, f"select {columns} from metrics.metric_values")
    on_spark = spark_frame(spark_session, f"select {columns} from metrics.metric_values")
    for frame in (on_duckdb, on_spark):
        frame["period_start"] = pd.to_datetime(frame["period_start"]).dt.date
        frame["value"] = frame["value"].astype("float64")
    assert len(on_duckdb) > 10_000  # the whole layer, not an empty export on both sides

    merged = on_duckdb.merge(on_spark, on=KEYS, how="outer", suffixes=("_duckdb", "_spark"), indicator=True)
    only_duckdb = merged[merged["_merge"] == "left_only"]
    only_spark = merged[merged["_merge"] == "right_only"]
    assert only_duckdb.empty and only_spark.empty, (
        f"{len(only_duckdb)} rows only on DuckDB, e.g.\n{only_duckdb[KEYS].head(10).to_string()}\n"
        f"{len(only_spark)} rows only on Spark, e.g.\n{only_spark[KEYS].head(10).to_string()}"
    )

    def differs(row) -> bool:
        a, b = row["value_duckdb"], row["value_spark"]
        if pd.isna(a) or pd.isna(b):
            return pd.isna(a) != pd.isna(b)
        return not math.isclose(a, b, rel_tol=REL_TOLERANCE, abs_tol=ABS_TOLERANCE)

    different = merged[merged.apply(differs, axis=1)]
    assert different.empty, (
        f"{len(different)} of {len(merged)} values differ, e.g.\n"
        + different[[*KEYS, "value_duckdb", "value_spark"]].head(20).to_string()
    )
    for column in ("period_label", "is_complete"):
        mismatched = merged[merged[f"{column}_duckdb"] != merged[f"{column}_spark"]]
        assert mismatched.empty, f"{column} differs:\n{mismatched.head(10).to_string()}"


def test_every_mart_has_the_same_rows_on_both(builds):
    duck, _spark, summary = builds
    assert summary.mart_rows == pipeline.mart_row_counts(duck)


@pytest.mark.parametrize(
    ("model", "key"),
    [("stg_erp__invoices", "invoice_id"), ("stg_erp__invoice_lines", "invoice_id, line_number"),
     ("stg_crm__cases", "case_id"),
     # the SAP extract: its own folder (FINKPI_SAP_DIR), always CSV
     ("stg_sap__sales_orders", "order_id"), ("stg_sap__sales_order_items", "order_id, line_number"),
     ("stg_sap__purchase_order_items", "po_id, line_number"),
     # text keys only: a date column comes back as datetime64 from DuckDB, as date from Spark
     ("stg_sap__exchange_rates", "from_currency, to_currency, rate_type, valid_from_inverted")],
)  # fmt: skip
def test_staging_rows_point_at_the_same_file_and_line(builds, spark_session, model, key):
    """Spark numbers CSV records itself (finkpi's load_raw_sources): the lines must be DuckDB's."""
    duck, _spark, _summary = builds
    sql = f"select {key}, _source_file, _source_row from staging.{model} order by _source_row"
    on_duckdb = duckdb_frame(duck, sql)
    on_spark = spark_frame(spark_session, sql)
    assert len(on_duckdb) > 100
    for frame in (on_duckdb, on_spark):
        frame["_source_row"] = frame["_source_row"].astype("int64")
    pd.testing.assert_frame_equal(
        on_duckdb.reset_index(drop=True), on_spark.reset_index(drop=True), check_dtype=False
    )


def test_every_rule_violation_is_found_on_both(builds, spark_session):
    """The quarantine decides what reaches the marts: the same rule on the same record and line.

    The SAP rules (sap_*) run on casts that must fail the same way on both engines (try_cast)."""
    duck, _spark, _summary = builds
    sql = (
        "select rule_id, source_model, record_key, source_file, source_line, quarantined"
        " from quarantine.rule_violations"
    )
    on_duckdb = duckdb_frame(duck, sql)
    on_spark = spark_frame(spark_session, sql)
    assert on_duckdb["rule_id"].str.startswith("sap_").any()  # the SAP rules are in the comparison
    frames = []
    for frame in (on_duckdb, on_spark):
        frame["source_line"] = frame["source_line"].astype("int64")
        frame["quarantined"] = frame["quarantined"].astype(bool)
        frames.append(frame.sort_values(list(frame.columns)).reset_index(drop=True))
    pd.testing.assert_frame_equal(frames[0], frames[1], check_dtype=False)
