"""A fiscal year that does not start in January: the sample with fiscal_year_start_month=4, its
quarter and year exports against the independent oracle, and the labels.

Only the fiscal calendar changes, so the pipeline runs only what reads it, from a copy of the pytest
session build: dbt builds (with their tests) the models that read the var
`fiscal_year_start_month` and every model downstream of them (`dim_dates+` today, found in the
manifest so that a new reader is not missed), with the April start; then the metric export stage
(`export_metrics`, MetricFlow over that build, the same call as `finkpi run`'s export stage)
computes every value again. Every other model reads neither the var nor anything built from it,
so the session build already holds what an April-start build would. The values are compared
with the oracle (tests/metrics/reference.py), which computes fiscal periods from the raw files.
"""

from __future__ import annotations

import shutil
from datetime import date

import duckdb
import pytest

from finkpi import dbt_runner
from finkpi.metrics.exports import export_metrics
from finkpi.run import new_run_id
from tests.metrics import test_metric_values as comparisons

SAMPLE = [
    "revenue",
    "cogs",
    "operating_expense",
    "dso",
    "gross_margin_pct",
    "revenue_growth_yoy",
    "complaint_rate",
]


def _reads_the_fiscal_calendar(manifest: dict) -> list[str]:
    """The models that read the var `fiscal_year_start_month`, in their SQL or through a macro."""
    macros = {
        uid for uid, macro in manifest["macros"].items() if "fiscal_year_start_month" in macro["macro_sql"]
    }
    while True:  # macros calling such a macro read it too
        more = {
            uid
            for uid, macro in manifest["macros"].items()
            if set(macro["depends_on"]["macros"]) & macros and uid not in macros
        }
        if not more:
            break
        macros |= more
    return sorted(
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and ("fiscal_year_start_month" in node["raw_code"] or set(node["depends_on"]["macros"]) & macros)
    )


@pytest.fixture(scope="module")
def april_values(built, manifest, sample_settings, tmp_path_factory):
    settings = sample_settings.with_(
        warehouse_dir=tmp_path_factory.mktemp("april"), fiscal_year_start_month=4
    )
    shutil.copy2(sample_settings.build_database, settings.build_database)
    readers = _reads_the_fiscal_calendar(manifest)
    assert "dim_dates" in readers, readers
    result = dbt_runner.build(settings, select=[f"{name}+" for name in readers], quiet=True)
    assert {r.node.name for r in result.result.results} >= set(readers)
    export_metrics(settings, new_run_id())
    with duckdb.connect(str(settings.build_database), read_only=True) as con:
        frame = con.execute("select * from metrics.metric_values").df()
    frame["period_start"] = frame["period_start"].dt.date
    return frame


@pytest.mark.parametrize("grain", ["quarter", "year"])
@pytest.mark.parametrize("metric", SAMPLE)
def test_april_fiscal_periods_equal_the_reference(april_values, metric, grain):
    comparisons._check(april_values, metric, grain, "total", date(2025, 11, 14), 4)


def test_april_fiscal_labels_and_starts(april_values):
    revenue = april_values[
        (april_values["metric_name"] == "revenue") & (april_values["dimension"] == "total")
    ]
    quarters = dict(revenue[revenue["grain"] == "quarter"][["period_start", "period_label"]].values)
    years = dict(revenue[revenue["grain"] == "year"][["period_start", "period_label"]].values)
    assert quarters[date(2024, 4, 1)] == "FY2025-Q1"
    assert quarters[date(2025, 10, 1)] == "FY2026-Q3"
    assert years[date(2024, 4, 1)] == "FY2025"
    assert set(quarters) <= {date(y, m, 1) for y in range(2022, 2026) for m in (1, 4, 7, 10)}
    incomplete = revenue[~revenue["is_complete"]]
    assert set(zip(incomplete["grain"], incomplete["period_start"], strict=True)) == {
        ("month", date(2025, 11, 1)),
        ("quarter", date(2025, 10, 1)),
        ("year", date(2025, 4, 1)),
    }
