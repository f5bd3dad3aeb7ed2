"""Metric formulas through the MetricEngine (MetricFlow's SQL on DuckDB) on small hand-made mart
tables: net operating cash flow by department through the counter-postings with the FX
revaluation left out, and the P&L gross margin beside the one at standard cost, with zero and NULL
denominators, periods without data and slices. The expected values are worked out by hand from the
rows below (and the cash from the cash lines themselves, which the metric never reads)."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from finkpi import dbt_runner
from finkpi.metrics.engine import MetricEngine
from finkpi.settings import load_settings
from tests.conftest import SAMPLE_DIR

pytestmark = pytest.mark.build  # dbt parse writes the semantic manifest MetricFlow reads

JAN, FEB, MAR = date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1)

# fct_gl_entries: entry, line, day, account, account group, department (the line's cost center's),
# entry's cash-flow category, amount (debit positive), cash_department (fct_gl_entries says which).
# PAY pays Sales salaries; COL collects a Sales invoice at a realised exchange loss (7000, Finance's
# cost center); VAT pays the tax office (no department); FXR revalues the USD account (+5) and funds
# it from the EUR account (a transfer); STD/PPV/VAR post cost of sales at standard and two
# variances; FX2 is February's revaluation, the month's only entry.
GL = [
    ("PAY", 1, "2024-01-31", "6000", "opex", "Sales", "operating", 100.00, "Sales"),
    ("PAY", 2, "2024-01-31", "1000", "cash", None, "operating", -100.00, None),
    ("COL", 1, "2024-01-15", "1010", "cash", None, "operating", 148.00, None),
    ("COL", 2, "2024-01-15", "1200", "receivables", None, "operating", -150.00, "Sales"),
    ("COL", 3, "2024-01-15", "7000", "other_income", "Finance", "operating", 2.00, "Finance"),
    ("VAT", 1, "2024-01-10", "2200", "tax", None, "operating", 4.00, None),
    ("VAT", 2, "2024-01-10", "1000", "cash", None, "operating", -4.00, None),
    ("FXR", 1, "2024-01-31", "1010", "cash", None, "fx_revaluation", 35.00, None),
    ("FXR", 2, "2024-01-31", "7000", "other_income", "Finance", "fx_revaluation", -5.00, "Finance"),
    ("FXR", 3, "2024-01-31", "1000", "cash", None, "fx_revaluation", -30.00, None),
    ("STD", 1, "2024-01-10", "5000", "cogs", "Sales", None, 60.00, None),
    ("STD", 2, "2024-01-10", "1300", "inventory", None, None, -60.00, None),
    ("PPV", 1, "2024-01-05", "5100", "cogs", "Procurement", None, 3.00, None),
    ("PPV", 2, "2024-01-05", "2000", "payables", None, None, -3.00, None),
    ("VAR", 1, "2024-01-20", "5200", "cogs", "Production", None, 7.00, None),
    ("VAR", 2, "2024-01-20", "1300", "inventory", None, None, -7.00, None),
    ("FX2", 1, "2024-02-29", "1010", "cash", None, "fx_revaluation", 10.00, None),
    ("FX2", 2, "2024-02-29", "7000", "other_income", "Finance", "fx_revaluation", -10.00, "Finance"),
]
# fct_invoice_lines: line key, company, day, line type, net amount, standard cost. XX01: January
# revenue 200 at standard cost 60; March an invoice and its full credit note (revenue 0). XX02
# (no ledger): January revenue 100 at standard cost 40.
INVOICE_LINES = [
    ("L1", "XX01", "2024-01-10", "invoice", 200.00, 60.00),
    ("L2", "XX01", "2024-03-05", "invoice", 50.00, 20.00),
    ("L2-CN", "XX01", "2024-03-20", "credit_note", -50.00, 0.00),
    ("L3", "XX02", "2024-01-12", "invoice", 100.00, 40.00),
]


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    settings = load_settings(warehouse_dir=tmp_path_factory.mktemp("hand-made"), data_dir=SAMPLE_DIR)
    dbt_runner.invoke(settings, ["--quiet", "parse"])
    with duckdb.connect(str(settings.build_database)) as con:
        con.execute("create schema marts")
        con.execute(
            """create table marts.fct_gl_entries (
                entry_id varchar, line_number integer, posting_date date, account_id varchar,
                account_group varchar, department varchar, cash_flow_category_of_entry varchar,
                amount_reporting decimal(18, 2), cash_department varchar, gl_entry_line_key varchar,
                company_code varchar, source_system varchar)"""
        )
        con.executemany(
            "insert into marts.fct_gl_entries values"
            " (?, ?, ?, ?, ?, ?, ?, ?, ?, ? || '-' || ?, 'XX01', 'erp')",
            [(*row, row[0], row[1]) for row in GL],
        )
        con.execute(
            """create table marts.fct_invoice_lines (
                invoice_line_key varchar, company_code varchar, revenue_date date, line_type varchar,
                net_amount_reporting decimal(18, 2), standard_cost_reporting decimal(18, 2),
                gross_amount_reporting decimal(18, 2), customer_id varchar, product_id varchar,
                source_system varchar)"""
        )
        con.executemany(
            "insert into marts.fct_invoice_lines values (?, ?, ?, ?, ?, ?, null, 'C1', 'P1', 'erp')",
            INVOICE_LINES,
        )
        con.execute(
            "create table marts.dim_org_units as select * from (values"
            " ('Sales'), ('Finance'), ('Procurement'), ('Production')) t(org_unit)"
        )
        con.execute(
            "create table marts.dim_companies as select * from (values ('XX01'), ('XX02')) t(company_code)"
        )
        con.execute(
            """create table marts.dim_dates as
               select
                   cast(d as date) as date_day,
                   cast(date_trunc('quarter', d) as date) as fiscal_quarter_start,
                   cast(date_trunc('year', d) as date) as fiscal_year_start,
                   true as is_through_as_of
               from range(date '2024-01-01', date '2024-04-01', interval 1 day) t(d)"""
        )
    with MetricEngine(settings) as metric_engine:
        yield metric_engine


def _plain(value):
    """A result cell as a plain value: a date for a timestamp, None for NULL (NaN)."""
    if value != value:  # NaN
        return None
    return value.date() if hasattr(value, "date") else value


def _by(frame, *columns) -> dict:
    """{key: value} from a query result: the key the first columns (one: itself), the value the last."""
    keys = zip(*([_plain(v) for v in frame[c]] for c in columns[:-1]), strict=True)
    return {
        key if len(key) > 1 else key[0]: _plain(value)
        for key, value in zip(keys, frame[columns[-1]], strict=True)
    }


def test_operating_cash_by_department_is_the_counter_postings_and_leaves_the_revaluation_out(engine):
    total = _by(
        engine.query(["net_operating_cash_flow"], ["metric_time__month"]),
        "metric_time__month",
        "net_operating_cash_flow",
    )
    # the cash lines of the operating entries (PAY, COL): what the metric must equal
    cash = sum(row[7] for row in GL if row[4] == "cash" and row[6] == "operating")
    assert total[JAN] == pytest.approx(cash) == pytest.approx(44.00)
    # February: only a revaluation, no cash flowed (a period with rows, the metric 0)
    assert total[FEB] == 0
    assert MAR not in total  # no ledger rows in March: no row (the export densifies with 0)
    by_department = _by(
        engine.query(["net_operating_cash_flow"], ["metric_time__month", "org_unit__department"]),
        "metric_time__month",
        "org_unit__department",
        "net_operating_cash_flow",
    )
    january = {department: value for (month, department), value in by_department.items() if month == JAN}
    # salaries paid by Sales, its invoice collected; the realised exchange loss to Finance; the tax
    # office paid by no department; the revaluation (+5 to Finance's 7000) nowhere
    assert january == {"Sales": 50.00, "Finance": -2.00, None: -4.00}
    assert sum(january.values()) == pytest.approx(total[JAN])
    february = {department: value for (month, department), value in by_department.items() if month == FEB}
    assert set(february.values()) == {0}


def test_the_pnl_gross_margin_deducts_the_cost_variances_from_the_margin_at_standard(engine):
    metrics = ["pnl_gross_margin_pct", "gross_margin_pct", "cogs_variances", "revenue"]
    frame = engine.query(metrics, ["metric_time__month", "company__company_code"])
    values = {name: _by(frame, "metric_time__month", "company__company_code", name) for name in metrics}
    # January: (200 - 60 - (3 + 7)) / 200; the standard-cost account 5000 is no variance
    assert values["cogs_variances"][(JAN, "XX01")] == 10.00
    assert values["gross_margin_pct"][(JAN, "XX01")] == pytest.approx(0.70)
    assert values["pnl_gross_margin_pct"][(JAN, "XX01")] == pytest.approx(0.65)
    assert values["pnl_gross_margin_pct"][(JAN, "XX01")] == pytest.approx(
        values["gross_margin_pct"][(JAN, "XX01")]
        - values["cogs_variances"][(JAN, "XX01")] / values["revenue"][(JAN, "XX01")]
    )
    # February: ledger rows, no revenue (NULL denominator); March: revenue 0 (zero denominator)
    assert values["pnl_gross_margin_pct"].get((FEB, "XX01")) is None
    assert values["revenue"][(MAR, "XX01")] == 0
    assert values["pnl_gross_margin_pct"][(MAR, "XX01")] is None
    assert values["gross_margin_pct"][(MAR, "XX01")] is None
    # a company without a ledger has a margin at standard but no P&L margin (not the standard one)
    assert values["gross_margin_pct"][(JAN, "XX02")] == pytest.approx(0.60)
    assert values["pnl_gross_margin_pct"][(JAN, "XX02")] is None


def test_cost_variances_by_department_are_the_variance_accounts_cost_centers(engine):
    frame = engine.query(["cogs_variances"], ["metric_time__month", "org_unit__department"])
    january = {
        department: value
        for (month, department), value in _by(
            frame, "metric_time__month", "org_unit__department", "cogs_variances"
        ).items()
        if month == JAN
    }
    assert january == {"Procurement": 3.00, "Production": 7.00, "Sales": 0, "Finance": 0, None: 0}
