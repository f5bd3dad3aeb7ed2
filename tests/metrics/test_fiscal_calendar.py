"""A fiscal year that does not start in January: the whole pipeline with fiscal_year_start_month=4,
its quarter and year exports against the independent oracle, and the labels."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from finkpi import pipeline
from finkpi.settings import load_settings
from tests.conftest import SAMPLE_DIR
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


@pytest.fixture(scope="module")
def april_values(tmp_path_factory):
    settings = load_settings(
        warehouse_dir=tmp_path_factory.mktemp("april"), data_dir=SAMPLE_DIR, fiscal_year_start_month=4
    )
    pipeline.run(settings, progress=lambda _message: None)
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
