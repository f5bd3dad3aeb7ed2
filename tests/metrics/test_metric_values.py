"""The exported `metric_values` against an independent second computation over the raw files
(tests/metrics/reference.py, pandas only: never the dbt models or the warehouse).

Money and counts must agree to the cent; ratios, days and hours to a relative 1e-9; NULL exactly
where the reference has no value (a zero denominator, growth of a running period).
"""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd
import pytest

from tests.conftest import SAMPLE_DIR, read_raw
from tests.metrics import reference as ref

COLUMNS = [
    "metric_name",
    "grain",
    "period_start",
    "period_label",
    "is_complete",
    "dimension",
    "dimension_value",
    "value",
    "run_id",
]
CENT = Decimal("0.01")
SHOWN = 10  # differing periods listed in a failure message

QUARTER_SAMPLE = [
    "revenue",
    "order_intake",
    "cogs",
    "gross_margin_pct",
    "operating_expense",
    "revenue_growth_yoy",
    "dso",
    "dio",
    "dpo",
    "cash_conversion_cycle",
    "inventory_turnover",
    "ar_collection_rate",
    "overdue_ar_ratio",
    "active_customers",
    "average_order_value",
    "on_time_delivery_rate",
    "complaint_rate",
    "win_rate",
]
YEAR_SAMPLE = ["revenue", "operating_expense"]


class _Published:
    """The published rows, with a short repr: pytest prints test arguments on a failure."""

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame

    def __repr__(self) -> str:
        return f"<metric_values: {len(self.frame)} rows>"


@pytest.fixture(scope="session")
def published(metric_values) -> _Published:
    return _Published(metric_values)


@pytest.fixture(scope="session")
def as_of(sample_settings) -> date:
    return date.fromisoformat(sample_settings.dbt_vars()["as_of_date"])


@pytest.fixture(scope="session")
def fiscal_month(sample_settings) -> int:
    return sample_settings.fiscal_year_start_month


# --------------------------------------------------------------------------------------------------
# normalizing the published rows


def _day(value) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, pd.Timestamp):
        return value.date()
    return date.fromisoformat(str(value)[:10])


def _is_null(value) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    try:
        return math.isnan(value)
    except (TypeError, ValueError):
        return False


def _as_decimal(value) -> Decimal:
    """A published money or count value, to the cent (a DOUBLE sum carries noise far below it)."""
    if isinstance(value, float):
        value = repr(value)
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def _published(metric_values: pd.DataFrame, metric: str, grain: str, dimension: str) -> dict:
    rows = metric_values[
        (metric_values["metric_name"] == metric)
        & (metric_values["grain"] == grain)
        & (metric_values["dimension"] == dimension)
    ]
    result: dict = {}
    for start, value_of_dimension, value in zip(
        rows["period_start"], rows["dimension_value"], rows["value"], strict=True
    ):
        key = (_day(start), None if _is_null(value_of_dimension) else str(value_of_dimension))
        assert key not in result, f"{metric} {grain} {dimension}: two rows for {key}"
        result[key] = None if _is_null(value) else value
    return result


def _expected(metric, grain, dimension, as_of, fiscal_month) -> dict:
    frame = ref.reference_values(metric, grain, dimension, as_of=as_of, fiscal_year_start_month=fiscal_month)
    return dict(
        zip(zip(frame["period_start"], frame["dimension_value"], strict=True), frame["value"], strict=True)
    )


def _same(kind: str, expected, got) -> bool:
    if expected is None or got is None:
        return expected is None and got is None
    if kind in (ref.MONEY, ref.COUNT):
        return _as_decimal(got) == expected
    return math.isclose(float(got), expected, rel_tol=1e-9, abs_tol=1e-9)


def _is_zero_or_null(value) -> bool:
    return value is None or float(value) == 0


def _differences(kind: str, expected: dict, got: dict) -> list[tuple]:
    """(key, expected, got) for every differing period. A period one side does not have is fine
    only where the other side has nothing to say (NULL, or 0 where no row is expected)."""
    differences = []
    for key in sorted(expected.keys() | got.keys(), key=lambda k: (k[0], k[1] or "")):
        if key in expected and key in got:
            if not _same(kind, expected[key], got[key]):
                differences.append((key, expected[key], got[key]))
        elif key in expected:
            if expected[key] is not None:
                differences.append((key, expected[key], "<no row>"))
        elif not _is_zero_or_null(got[key]):
            differences.append((key, "<no row>", got[key]))
    return differences


def _check(metric_values, metric, grain, dimension, as_of, fiscal_month):
    kind = ref.metric_kind(metric)
    expected = _expected(metric, grain, dimension, as_of, fiscal_month)
    got = _published(metric_values, metric, grain, dimension)
    assert got, f"no published values for {metric} at {grain} by {dimension}"
    differences = _differences(kind, expected, got)
    if differences:
        shown = "\n".join(
            f"  {start} {value_of_dimension}: reference {want!r}, published {have!r}"
            for (start, value_of_dimension), want, have in differences[:SHOWN]
        )
        pytest.fail(
            f"{metric} ({kind}) at {grain} by {dimension}: {len(differences)} of"
            f" {len(expected.keys() | got.keys())} periods differ; the first ones:\n{shown}"
        )


# --------------------------------------------------------------------------------------------------
# the comparisons


@pytest.mark.parametrize("metric", list(ref.METRICS))
def test_every_metric_by_month_equals_the_reference(published, metric, as_of, fiscal_month):
    _check(published.frame, metric, "month", "total", as_of, fiscal_month)


@pytest.mark.parametrize("metric", QUARTER_SAMPLE)
def test_metrics_by_fiscal_quarter_equal_the_reference(published, metric, as_of, fiscal_month):
    _check(published.frame, metric, "quarter", "total", as_of, fiscal_month)


@pytest.mark.parametrize("metric", YEAR_SAMPLE)
def test_metrics_by_fiscal_year_equal_the_reference(published, metric, as_of, fiscal_month):
    _check(published.frame, metric, "year", "total", as_of, fiscal_month)


@pytest.mark.parametrize(("metric", "dimension"), ref.slices())
def test_dimension_slices_by_month_equal_the_reference(published, metric, dimension, as_of, fiscal_month):
    _check(published.frame, metric, "month", dimension, as_of, fiscal_month)


# metrics over CRM facts only: their company and source are the CRM rows' own
CRM_METRICS = [
    "win_rate", "sales_cycle_days", "avg_first_response_hours", "avg_resolution_hours", "open_cases",
]  # fmt: skip


@pytest.mark.parametrize("metric", CRM_METRICS)
@pytest.mark.parametrize("grain", ["month", "quarter", "year"])
def test_crm_metrics_belong_to_the_crm_company_and_source(published, metric, grain):
    """Every company and source slice of a CRM metric is the CRM's company and `crm`, whether or
    not an account matched an ERP customer: no row of `erp` (the company's books) or
    `(unassigned)` (an account with no customer), not even a NULL or zero one."""
    metric_values = published.frame
    company = ref.crm_company(SAMPLE_DIR)
    for dimension, expected in (("company_code", company), ("source_system", "crm")):
        rows = metric_values[
            (metric_values["metric_name"] == metric)
            & (metric_values["grain"] == grain)
            & (metric_values["dimension"] == dimension)
        ]
        assert not rows.empty, f"{metric} has no {dimension} slice at {grain}"
        values = set(rows["dimension_value"])
        assert values == {expected}, f"{metric} at {grain} by {dimension}: {sorted(values)}, not {expected}"
        # the one slice is the whole: the total, period by period
        total = _published(metric_values, metric, grain, "total")
        sliced = _published(metric_values, metric, grain, dimension)
        by_period = {start: value for (start, _), value in sliced.items()}
        assert by_period.keys() == {start for start, _ in total}, f"{metric} at {grain} by {dimension}"
        differing = [
            (start.isoformat(), value, by_period[start])
            for (start, _), value in total.items()
            if not _same(ref.RATIO, None if value is None else float(value), by_period[start])
        ]
        assert not differing, f"{metric} at {grain}: {dimension} slice != total: {differing[:SHOWN]}"


def test_a_metric_over_facts_of_two_sources_has_no_source_slice(published):
    """complaint_rate divides CRM complaints by ERP deliveries: it has a company, not a source."""
    rows = published.frame[published.frame["metric_name"] == "complaint_rate"]
    assert set(rows["dimension"]) >= {"total", "company_code"}
    assert "source_system" not in set(rows["dimension"])


def test_no_metric_has_an_unassigned_company_or_source(published):
    """Every fact carries its own company_code and source_system: no slice falls to (unassigned)."""
    metric_values = published.frame
    unassigned = metric_values[
        metric_values["dimension"].isin(["company_code", "source_system"])
        & (metric_values["dimension_value"] == "(unassigned)")
    ]
    assert unassigned.empty, sorted(set(zip(unassigned["metric_name"], unassigned["dimension"], strict=True)))


@pytest.mark.parametrize("metric", list(ref.METRICS))
def test_every_metric_has_every_month_from_its_first_data_to_as_of(published, metric, as_of, fiscal_month):
    expected = _expected(metric, "month", "total", as_of, fiscal_month)
    months = sorted(start for start, _ in expected)
    assert months[-1] == date(as_of.year, as_of.month, 1)
    present = {start for start, _ in _published(published.frame, metric, "month", "total")}
    missing = [m.isoformat() for m in months if m not in present]
    assert not missing, f"{metric}: no published month value for {missing[:SHOWN]} ({len(missing)} months)"


def test_only_the_periods_running_at_as_of_are_incomplete(published, as_of, fiscal_month):
    """Running at the global as_of, or at a company's own as_of (the SAP company's data ends in
    January 2022): ref.is_complete_for."""
    metric_values = published.frame
    # which metrics reach the company dimension is the semantic models' structure, not a value
    sliced_by_company = set(metric_values.loc[metric_values["dimension"] == "company_code", "metric_name"])
    wrong = []
    for metric, grain, start, dimension, value, flag in zip(
        metric_values["metric_name"],
        metric_values["grain"],
        metric_values["period_start"],
        metric_values["dimension"],
        metric_values["dimension_value"],
        metric_values["is_complete"],
        strict=True,
    ):
        expected = ref.is_complete_for(
            metric, grain, _day(start), dimension, value, as_of, metric in sliced_by_company
        )
        if bool(flag) != expected:
            wrong.append((metric, grain, _day(start).isoformat(), dimension, value, flag))
    assert not wrong, f"{len(wrong)} rows with a wrong is_complete, e.g. {wrong[:SHOWN]}"
    # the month and the fiscal quarter holding as_of are running; everything before is closed
    revenue = metric_values[
        (metric_values["metric_name"] == "revenue") & (metric_values["dimension"] == "total")
    ]
    flags = {
        (grain, _day(start)): bool(flag)
        for grain, start, flag in zip(
            revenue["grain"], revenue["period_start"], revenue["is_complete"], strict=True
        )
    }
    running_month = ref.period_start(as_of, "month", fiscal_month)
    running_quarter = ref.period_start(as_of, "quarter", fiscal_month)
    assert flags[("month", running_month)] is False
    assert flags[("quarter", running_quarter)] is False
    assert all(flag for (grain, start), flag in flags.items() if grain == "month" and start < running_month)
    assert all(
        flag for (grain, start), flag in flags.items() if grain == "quarter" and start < running_quarter
    )


@pytest.mark.parametrize("grain", ["quarter", "year"])
def test_fiscal_periods_are_labelled_by_the_year_they_end_in(published, grain, fiscal_month):
    metric_values = published.frame
    rows = metric_values[(metric_values["grain"] == grain) & (metric_values["metric_name"] == "revenue")]
    wrong = {
        (_day(start), label)
        for start, label in zip(rows["period_start"], rows["period_label"], strict=True)
        if label != ref.period_label(_day(start), grain, fiscal_month)
    }
    assert not wrong, f"period labels differ from FY<year>[-Q<n>]: {sorted(wrong)[:SHOWN]}"


def test_inventory_turnover_is_published_for_the_categories_that_are_sold_only(published):
    """Raw materials have no cost of goods sold (they turn over through production): their
    inventory turnover is not published, not even as NULL; every finished-goods category is."""
    products = read_raw("erp", "products")
    finished = set(products.loc[products["product_type"] == "finished", "category"])
    materials = set(products.loc[products["product_type"] == "material", "category"])
    assert finished and materials
    rows = published.frame[
        (published.frame["metric_name"] == "inventory_turnover")
        & (published.frame["dimension"] == "product_category")
    ]
    for grain in ("month", "quarter", "year"):
        assert set(rows.loc[rows["grain"] == grain, "dimension_value"]) == finished, grain


def test_operating_cash_flow_reaches_every_department(published):
    """Cash is attributed through the counter-postings: each department pays its payroll and
    expenses, Sales collects its invoices, Procurement pays the supplier invoices, so none publishes
    0.00 for a complete year (it did: all of it sat in (unassigned)); the slices add up to the total
    to the cent."""
    rows = published.frame[
        (published.frame["metric_name"] == "net_operating_cash_flow")
        & (published.frame["grain"] == "year")
        & published.frame["is_complete"]
    ]
    departments = read_raw("erp", "cost_centers")["department"].unique()
    for start, year in rows.groupby("period_start"):
        values = dict(zip(year["dimension_value"], year["value"], strict=True))
        assert all(values[d] != 0 for d in departments), (start, values)
        assert values["Sales"] > 0 > values["Procurement"], (start, values)
        sliced = year.loc[year["dimension"] == "department", "value"].map(_as_decimal).sum()
        assert sliced == _as_decimal(values["all"]), start
