"""Marts against independent pandas computations over the raw files (never over the models), and
the subledgers against their general-ledger control accounts, month by month."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pandas as pd
import pytest

from tests.conftest import read_raw

CENT = Decimal("0.01")


def _rates() -> dict[tuple[str, str], Decimal]:
    rates = read_raw("erp", "exchange_rates")
    return {
        (c, d): Decimal(r)
        for c, d, r in zip(rates["from_currency"], rates["rate_date"], rates["rate"], strict=True)
    }


def _to_eur(amount: str | Decimal, currency: str, day: str, rates) -> Decimal:
    value = Decimal(amount)
    if currency == "EUR":
        return value
    # DuckDB rounds decimals half away from zero
    return (value * rates[(currency, day)]).quantize(CENT, rounding=ROUND_HALF_UP)


def test_invoiced_revenue_per_month_equals_raw_invoices_rounded_per_document(warehouse):
    """The ERP's ledger posts an invoice's revenue as round(gross x rate) - round(tax x rate), so
    revenue rounds per document (reporting_rounding: document), not line by line."""
    rates = _rates()
    invoices = read_raw("erp", "invoices")
    expected: dict[str, Decimal] = {}
    for gross, tax, currency, day in zip(
        invoices["gross_amount"],
        invoices["tax_amount"],
        invoices["currency"],
        invoices["invoice_date"],
        strict=True,
    ):
        net = _to_eur(gross, currency, day, rates) - _to_eur(tax, currency, day, rates)
        expected[day[:7]] = expected.get(day[:7], Decimal(0)) + net
    got = dict(
        warehouse.execute(
            "select strftime(revenue_date, '%Y-%m'), sum(net_amount_reporting)"
            " from marts.fct_invoice_lines where line_type = 'invoice' group by 1"
        ).fetchall()
    )
    assert got.keys() == expected.keys()
    wrong = {m: (got[m], expected[m]) for m in got if got[m] != expected[m]}
    assert not wrong, wrong


def test_revenue_per_month_equals_the_raw_ledgers_revenue_accounts(warehouse):
    """Invoices less credit notes = GL 4000 + 4100 (credit positive) from the raw journal, to the
    cent, every month: the sample quarantines no ERP document, so no reconciling item is due."""
    gl = read_raw("erp", "gl_journal_entries")
    gl = gl[gl["account_id"].isin({"4000", "4100"})]
    expected: dict[str, Decimal] = {}
    for amount, day in zip(gl["amount_eur"], gl["posting_date"], strict=True):
        expected[day[:7]] = expected.get(day[:7], Decimal(0)) - Decimal(amount)
    got = dict(
        warehouse.execute(
            "select strftime(revenue_date, '%Y-%m'), sum(net_amount_reporting)"
            " from marts.fct_invoice_lines group by 1"
        ).fetchall()
    )
    assert got.keys() == expected.keys()
    wrong = {m: (got[m], expected[m]) for m in got if got[m] != expected[m]}
    assert not wrong, wrong


def _gl_balances(accounts: set[str]) -> pd.Series:
    """Month-end balance (reporting currency) of some GL accounts, from the raw journal."""
    gl = read_raw("erp", "gl_journal_entries")
    gl = gl[gl["account_id"].isin(accounts)].copy()
    gl["cents"] = gl["amount_eur"].map(lambda v: int(Decimal(v) * 100))
    gl["month"] = gl["posting_date"].str[:7]
    return gl.groupby("month")["cents"].sum().sort_index().cumsum()


def _control_accounts(group: str) -> set[str]:
    accounts = read_raw("erp", "gl_accounts")
    return set(accounts.loc[accounts["account_group"] == group, "account_id"])


def _compare_month_ends(gl_cents: pd.Series, subledger: dict[str, Decimal], sign: int = 1):
    months = sorted(subledger)
    assert len(months) >= 30
    wrong = {}
    for month in months:
        gl = gl_cents[gl_cents.index <= month].iloc[-1] if (gl_cents.index <= month).any() else 0
        if sign * gl != int(subledger[month] * 100):
            wrong[month] = (gl / 100, subledger[month])
    assert not wrong, f"subledger and GL differ at month end: {wrong}"


def test_receivables_subledger_reconciles_with_gl_control_account(warehouse):
    subledger = dict(
        warehouse.execute(
            "select strftime(snapshot_month, '%Y-%m'), sum(closing_amount_reporting)"
            " from marts.fct_ar_snapshots group by 1"
        ).fetchall()
    )
    _compare_month_ends(_gl_balances(_control_accounts("receivables")), subledger)


def test_payables_subledger_reconciles_with_gl_control_account(warehouse):
    subledger = dict(
        warehouse.execute(
            "select strftime(snapshot_month, '%Y-%m'), sum(closing_amount_reporting)"
            " from marts.fct_ap_snapshots group by 1"
        ).fetchall()
    )
    # payables are a credit balance in the ledger
    _compare_month_ends(_gl_balances(_control_accounts("payables")), subledger, sign=-1)


def test_inventory_snapshots_reconcile_with_gl_inventory_accounts(warehouse):
    subledger = dict(
        warehouse.execute(
            "select strftime(snapshot_month, '%Y-%m'), sum(closing_value_reporting)"
            " from marts.fct_inventory_snapshots group by 1"
        ).fetchall()
    )
    _compare_month_ends(_gl_balances(_control_accounts("inventory")), subledger)


def test_open_receivables_at_as_of_per_currency_equal_raw_documents(warehouse, sample_settings):
    as_of = sample_settings.dbt_vars()["as_of_date"]
    invoices = read_raw("erp", "invoices")
    open_amount: dict[str, Decimal] = {}
    currency_of = dict(zip(invoices["invoice_id"], invoices["currency"], strict=True))
    for currency, gross in zip(invoices["currency"], invoices["gross_amount"], strict=True):
        open_amount[currency] = open_amount.get(currency, Decimal(0)) + Decimal(gross)
    for table, column in (
        ("customer_payments", "amount"),
        ("credit_notes", "gross_amount"),
        ("write_offs", "amount"),
    ):
        frame = read_raw("erp", table)
        for invoice_id, amount in zip(frame["invoice_id"], frame[column], strict=True):
            open_amount[currency_of[invoice_id]] -= Decimal(amount)
    got = dict(
        warehouse.execute(
            "select currency, sum(closing_amount) from marts.fct_ar_snapshots"
            " where snapshot_date = ? group by 1",
            [as_of],
        ).fetchall()
    )
    assert {c: v for c, v in open_amount.items() if v} == {c: v for c, v in got.items() if v}


@pytest.mark.parametrize("column", ["is_on_time", "is_in_full"])
def test_delivery_outcomes_equal_raw_deliveries(warehouse, sample_settings, column):
    as_of = sample_settings.dbt_vars()["as_of_date"]
    orders = read_raw("erp", "sales_orders")
    lines = read_raw("erp", "sales_order_lines").merge(orders[["order_id", "status"]], on="order_id")
    lines = lines[lines["status"] != "cancelled"]
    deliveries = read_raw("erp", "deliveries")
    merged = lines.merge(
        deliveries,
        how="left",
        left_on=["order_id", "line_number"],
        right_on=["order_id", "order_line_number"],
        suffixes=("", "_delivery"),
    )
    delivered = merged["actual_date"].fillna("") != ""
    if column == "is_on_time":
        outcome = delivered & (merged["actual_date"] <= merged["promised_date"])
    else:
        shipped = merged["quantity_shipped"].replace("", "0").fillna("0").astype(float)
        outcome = delivered & (shipped >= merged["quantity"].astype(float))
    evaluable = delivered | (merged["promised_date"] < as_of)
    expected = (int(outcome[evaluable].sum()), int((~outcome[evaluable]).sum()))
    got = warehouse.execute(
        f"select count(*) filter (where {column}), count(*) filter (where not {column})"
        " from marts.fct_deliveries"
    ).fetchone()
    assert got == expected
