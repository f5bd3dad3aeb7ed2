"""New customers, repeat purchase rate and supplier on-time rate, through the MetricEngine on small
hand-made mart tables: MetricFlow plans the queries from the project's semantic models (the
session build's manifest) and the SQL runs on a warehouse holding only these rows.

What is checked: a customer counts as new only where dim_customers gives it a new_customer_date
(an existing customer's first invoice in the extract does not make it new); a period whose active
customers are all existing has a repeat purchase rate of 1, one whose are all new 0; a period with
no invoice has no value (no division by zero). Supplier on-time rate counts a purchase order line
by its promised date: an overdue line is late, a pending or cancelled line is left out, and a
period with only such lines has no value (not 0).
"""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from finkpi.metrics.engine import MetricEngine
from finkpi.settings import load_settings
from tests.conftest import SAMPLE_DIR

JAN, FEB, MAR, APR = (date(2024, m, 1) for m in (1, 2, 3, 4))

# (customer_key, first_invoice_date, new_customer_date): C-old existed before the invoice history
CUSTOMERS = [
    ("C-old", "2024-01-05", None),
    ("C-new", "2024-01-20", "2024-01-20"),
    ("C-feb", "2024-02-03", "2024-02-03"),
    ("C-never", None, None),
]
# (invoice_line_key, customer_id, line_type, revenue_date): March has only a credit note of C-old
INVOICE_LINES = [
    ("I1-1", "C-old", "invoice", "2024-01-05"),
    ("I2-1", "C-new", "invoice", "2024-01-20"),
    ("I2-2", "C-new", "invoice", "2024-01-20"),
    ("I3-1", "C-feb", "invoice", "2024-02-03"),
    ("I4-1", "C-old", "invoice", "2024-04-02"),
    ("CN1-1", "C-old", "credit_note", "2024-03-10"),
]
# (po_line_key, source_system, promised_date, receipt_status, is_on_time, is_cancelled_or_rejected)
PURCHASE_ORDER_LINES = [
    ("P1-1", "erp", "2024-01-10", "received", True, False),  # on time
    ("P1-2", "erp", "2024-01-12", "received", False, False),  # late
    ("P2-1", "erp", "2024-01-25", "overdue", False, False),  # not received, past due: late
    ("P3-1", "erp", "2024-01-15", "cancelled", None, True),  # left out
    ("P4-1", "erp", "2024-02-20", "pending", None, False),  # not yet due: left out
    ("S1-10", "sap", "2024-03-01", None, None, False),  # a source without receipts: left out
]


@pytest.fixture(scope="module")
def hand_made(built, sample_settings, tmp_path_factory):
    """Settings whose build warehouse holds only the hand-made rows (tables shaped like the
    session build's marts, so every column MetricFlow selects exists with its type)."""
    settings = load_settings(warehouse_dir=tmp_path_factory.mktemp("hand_made"), data_dir=SAMPLE_DIR)
    with duckdb.connect(str(settings.build_database)) as con:
        con.execute(f"attach '{sample_settings.build_database}' as built (read_only)")
        con.execute("create schema marts")
        for table in ("dim_customers", "fct_invoice_lines", "fct_purchase_order_lines", "dim_dates"):
            con.execute(f"create table marts.{table} as select * from built.marts.{table} limit 0")
        con.execute("insert into marts.dim_dates select * from built.marts.dim_dates")
        con.executemany(
            "insert into marts.dim_customers by name select ? as customer_key, 'erp' as source_system,"
            " 'XX01' as company_code, cast(? as date) as first_invoice_date,"
            " cast(? as date) as new_customer_date",
            CUSTOMERS,
        )
        con.executemany(
            "insert into marts.fct_invoice_lines by name select ? as invoice_line_key, ? as customer_id,"
            " ? as line_type, cast(? as date) as revenue_date, 'XX01' as company_code,"
            " 'erp' as source_system, 1.00 as net_amount_reporting",
            INVOICE_LINES,
        )
        con.executemany(
            "insert into marts.fct_purchase_order_lines by name select ? as po_line_key,"
            " ? as source_system, cast(? as date) as promised_date, ? as receipt_status, ? as is_on_time,"
            " ? as is_cancelled_or_rejected, 'XX01' as company_code, date '2023-12-01' as order_date",
            PURCHASE_ORDER_LINES,
        )
        con.execute("detach built")
    return settings


def _by_month(engine: MetricEngine, metrics: list[str]) -> dict[date, dict]:
    frame = engine.query(metrics, ["metric_time__month"])
    frame["month"] = frame["metric_time__month"].map(lambda t: t.date())
    return {row.month: {m: getattr(row, m) for m in metrics} for row in frame.itertuples()}


def _value(value):
    """MetricFlow's NULL as None, numbers as float."""
    return None if value is None or value != value else float(value)


def test_new_customers_and_repeat_purchase_rate(hand_made):
    metrics = ["new_customers", "active_customers", "repeat_purchase_rate"]
    with MetricEngine(hand_made) as engine:
        got = _by_month(engine, metrics)
    values = {month: {m: _value(v) for m, v in row.items()} for month, row in got.items()}
    # January: C-old (existing) and C-new (new; two lines, one customer): (2 - 1) / 2
    assert values[JAN] == {"new_customers": 1.0, "active_customers": 2.0, "repeat_purchase_rate": 0.5}
    # February: only C-feb, new: no repeat purchase
    assert values[FEB] == {"new_customers": 1.0, "active_customers": 1.0, "repeat_purchase_rate": 0.0}
    # April: only C-old, existing: no new customer (0, not NULL), every active customer repeats
    assert values[APR] == {"new_customers": 0.0, "active_customers": 1.0, "repeat_purchase_rate": 1.0}
    # March: a credit note only, no customer invoiced: no rate (zero denominator), never 0 or 1
    if MAR in values:
        assert values[MAR]["active_customers"] == 0.0 and values[MAR]["repeat_purchase_rate"] is None
    # C-never and C-old's first invoice never count as new
    assert sum(row["new_customers"] for row in values.values()) == 2.0


def test_supplier_on_time_rate_by_promised_date(hand_made):
    metrics = ["on_time_receipt_lines", "receipt_lines", "supplier_on_time_rate"]
    with MetricEngine(hand_made) as engine:
        got = _by_month(engine, metrics)
    values = {month: {m: _value(v) for m, v in row.items()} for month, row in got.items()}
    # January: one on time of three due (the late receipt and the overdue open line); the cancelled
    # line is not due
    assert values[JAN] == {
        "on_time_receipt_lines": 1.0,
        "receipt_lines": 3.0,
        "supplier_on_time_rate": pytest.approx(1 / 3),
    }
    # February: only a line not yet due, March only a SAP line without receipts: nothing can be
    # judged, so no value at all (the building blocks read received and overdue lines only), never 0
    assert FEB not in values and MAR not in values
