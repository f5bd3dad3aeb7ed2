"""The reference computation (tests/metrics/reference.py) checked on its own, without the warehouse:
identities between metrics, reconciliation with the raw general ledger, the fiscal calendar, and
values worked out by hand on a tiny company."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal

import pytest

from finkpi.generate.writer import columns
from tests.conftest import read_raw
from tests.metrics import reference as ref

AS_OF = ref.default_as_of()


def _values(metric, grain="month", dimension="total", **kwargs) -> dict:
    kwargs.setdefault("as_of", AS_OF)
    frame = ref.reference_values(metric, grain, dimension, **kwargs)
    return {
        (p, d): v
        for p, d, v in zip(frame["period_start"], frame["dimension_value"], frame["value"], strict=True)
    }


def _by_period(metric, grain="month", **kwargs) -> dict:
    return {p: v for (p, _), v in _values(metric, grain, **kwargs).items()}


def test_the_default_as_of_is_the_latest_order_date():
    assert ref.default_as_of() == date(2025, 11, 14)


@pytest.mark.parametrize("fiscal_month", [1, 4])
@pytest.mark.parametrize("metric", ref.ADDITIVE)
def test_quarters_and_years_are_the_sum_of_their_months(metric, fiscal_month):
    months = _by_period(metric, fiscal_year_start_month=fiscal_month)
    for grain in ("quarter", "year"):
        periods = _by_period(metric, grain, fiscal_year_start_month=fiscal_month)
        assert sum(periods.values()) == sum(months.values())
        for start, value in periods.items():
            end = ref.period_end(start, grain)
            assert value == sum(v for m, v in months.items() if start <= m <= end), (grain, start)


def test_distinct_counts_are_not_summed_over_months():
    months = _by_period("active_customers")
    quarters = _by_period("active_customers", "quarter")
    q3 = date(2024, 7, 1)
    in_q3 = [months[date(2024, m, 1)] for m in (7, 8, 9)]
    assert max(in_q3) < quarters[q3] < sum(in_q3)


@pytest.mark.parametrize(
    ("metric", "dimension"),
    [(m, d) for m, d in ref.slices() if m in ref.ADDITIVE],
)
def test_additive_slices_add_up_to_the_total(metric, dimension):
    total = _by_period(metric)
    sliced: dict = {}
    for (period, _value), v in _values(metric, dimension=dimension).items():
        sliced[period] = sliced.get(period, 0) + v
    assert {p: v for p, v in sliced.items() if v} == {p: v for p, v in total.items() if v}


@pytest.mark.parametrize("grain", ["month", "quarter"])
def test_gross_profit_is_revenue_minus_cogs(grain):
    revenue, cogs = _values("revenue", grain, "region"), _values("cogs", grain, "region")
    profit = _values("gross_profit", grain, "region")
    assert profit == {k: revenue.get(k, 0) - cogs.get(k, 0) for k in revenue.keys() | cogs.keys()}
    revenue, cogs, margin = (
        _by_period("revenue", grain),
        _by_period("cogs", grain),
        _by_period("gross_margin_pct", grain),
    )
    for period, value in margin.items():
        assert value == pytest.approx(float((revenue[period] - cogs[period]) / revenue[period]), rel=1e-12)


def test_derived_metrics_follow_from_their_parts():
    dso, dio, dpo = _by_period("dso"), _by_period("dio"), _by_period("dpo")
    for period, ccc in _by_period("cash_conversion_cycle").items():
        assert ccc == pytest.approx(dso[period] + dio[period] - dpo[period], rel=1e-12)
    active, new = _by_period("active_customers"), _by_period("new_customers")
    for period, rate in _by_period("repeat_purchase_rate").items():
        # new customers' series starts with the first one (2023-01 has none: all existed before)
        new_in_period = new.get(period, 0)
        assert rate == pytest.approx(float((active[period] - new_in_period) / active[period]), rel=1e-12)
    intake, orders = _by_period("order_intake"), _by_period("orders_booked")
    for period, value in _by_period("average_order_value").items():
        if not orders[period]:  # months without orders: the SAP history (2014-2022) has gaps
            assert value is None and not intake[period]
            continue
        assert value == pytest.approx(float(intake[period] / orders[period]), rel=1e-12)


def test_credit_note_allocation_rounds_an_exact_half_cent_up():
    """CN000120 credits 3,980.62 EUR of IN004557 (net 56,866.00); line 5 (11,827.50, Controls) gets
    3980.62 x 11827.50 / 56866.00 = 827.925 exactly -> 827.93 (half up, exact decimals: a double
    computation of the share lands just below the half and gives 827.92). Line 6 takes the rest."""
    credits = ref._credit_note_lines(ref.SAMPLE_DIR)
    credit = credits[credits["credit_note_id"] == "CN000120"].set_index("line")["net_cents"]
    assert Decimal("3980.62") * Decimal("11827.50") / Decimal("56866.00") == Decimal("827.925")
    assert credit[5] == 82793
    assert credit.sum() == 398062 and credit[6] == 398062 - credit[:5].sum()


def _gl_balances(accounts: set[str], days: list[date]) -> dict[date, Decimal]:
    gl = read_raw("erp", "gl_journal_entries")
    gl = gl[gl["account_id"].isin(accounts)]
    amounts = [(d, Decimal(v)) for d, v in zip(gl["posting_date"], gl["amount_eur"], strict=True)]
    return {day: sum((v for d, v in amounts if d <= day.isoformat()), Decimal("0.00")) for day in days}


def _month_ends() -> list[date]:
    ends = [ref.period_end(date(y, m, 1), "month") for y in (2023, 2024, 2025) for m in range(1, 13)]
    return [d for d in ends if d < AS_OF] + [AS_OF]


def test_balances_equal_the_ledger_control_accounts_at_every_month_end():
    """Receivables and payables per invoice at the invoice-date rate, and inventory, are exactly what
    the raw ledger carries on 1200, 2000 and 1300 + 1310 (the generator's reconciliation rules)."""
    days = _month_ends()
    receivables, payables = _gl_balances({"1200"}, days), _gl_balances({"2000"}, days)
    inventory = _gl_balances({"1300", "1310"}, days)
    assert {d: ref.receivables_at(d) for d in days} == receivables
    assert {d: ref.payables_at(d) for d in days} == {d: -v for d, v in payables.items()}
    assert {d: ref.inventory_at(d) for d in days} == inventory


def test_cogs_equal_the_ledger_cogs_at_standard():
    gl = read_raw("erp", "gl_journal_entries")
    gl = gl[gl["account_id"] == "5000"]
    ledger: dict[str, Decimal] = {}
    for day, amount in zip(gl["posting_date"], gl["amount_eur"], strict=True):
        ledger[day[:7]] = ledger.get(day[:7], Decimal(0)) + Decimal(amount)
    cogs = {p.strftime("%Y-%m"): v for p, v in _by_period("cogs").items()}
    assert cogs == ledger


def test_the_pnl_gross_margin_ties_to_the_ledger():
    """The P&L gross margin is the ledger's: (GL 4000 + 4100 - GL 5000..5300) / (GL 4000 + 4100),
    up to revenue's rounding (lines rounded one by one against the ledger's per document: cents
    a year); the margin at standard cost is above it by the variances (5100-5300) / revenue."""
    gl = read_raw("erp", "gl_journal_entries")
    revenue = {"4000", "4100"}
    cost_of_sales = {"5000", "5100", "5200", "5300"}
    ledger: dict[int, dict[str, Decimal]] = {}
    for day, account, amount in zip(gl["posting_date"], gl["account_id"], gl["amount_eur"], strict=True):
        year = ledger.setdefault(
            int(day[:4]), {"revenue": Decimal(0), "cogs": Decimal(0), "variances": Decimal(0)}
        )
        if account in revenue:
            year["revenue"] -= Decimal(amount)  # credit positive
        elif account in cost_of_sales:
            year["cogs"] += Decimal(amount)
            year["variances"] += Decimal(amount) if account != "5000" else 0
    pnl, standard = _by_period("pnl_gross_margin_pct", "year"), _by_period("gross_margin_pct", "year")
    variances = _by_period("cogs_variances", "year")
    for start, margin in pnl.items():
        year = ledger[start.year]
        assert variances[start] == year["variances"]
        assert margin == pytest.approx(float(1 - year["cogs"] / year["revenue"]), abs=1e-8)
        assert standard[start] - margin == pytest.approx(float(year["variances"] / year["revenue"]), abs=1e-8)


def test_the_running_period_is_cut_at_as_of():
    november = date(2025, 11, 1)
    assert not ref.is_complete(november, "month", AS_OF)
    assert ref.is_complete(date(2025, 10, 1), "month", AS_OF)
    assert not ref.is_complete(date(2025, 10, 1), "quarter", AS_OF)
    assert ref.is_complete(date(2025, 7, 1), "quarter", AS_OF)
    # the last period is the running one, and growth is never computed for it
    assert max(_by_period("revenue")) == november
    assert _by_period("revenue_growth_yoy")[november] is None
    assert _by_period("revenue_growth_yoy", "quarter")[date(2025, 10, 1)] is None
    # a balance metric in the running month uses 14 days: AR at as_of / gross invoiced x 14
    ar = ref.receivables_at(AS_OF)
    invoiced = _posted({"1200"}, november, AS_OF, "invoice")
    assert _by_period("dso")[november] == pytest.approx(float(ar / invoiced * 14), rel=1e-12)


def _posted(accounts: set[str], first: date, last: date, document_type: str | None = None) -> Decimal:
    """What the raw ledger posts on `accounts` from `first` to `last` (debit positive), by hand:
    the documents as the ledger rounds them (per document)."""
    gl = read_raw("erp", "gl_journal_entries")
    gl = gl[gl["account_id"].isin(accounts) & gl["posting_date"].between(first.isoformat(), last.isoformat())]
    if document_type:
        gl = gl[gl["document_type"] == document_type]
    return sum((Decimal(v) for v in gl["amount_eur"]), Decimal(0))


def test_revenue_equals_the_ledger_revenue_accounts_every_month():
    """Revenue (invoices and credit notes, rounded per document as the ledger posts them) is
    exactly what the raw ledger carries on 4000 + 4100, month by month."""
    for month, revenue in _by_period("revenue").items():
        last = min(ref.period_end(month, "month"), AS_OF)
        assert revenue == -_posted({"4000", "4100"}, month, last), month


def test_revenue_growth_over_a_leap_day():
    """February 2024 has 29 days, February 2023 has 28: each month is compared whole, and the
    invoices of 2024-02-29 belong to February 2024."""
    assert (read_raw("erp", "invoices")["invoice_date"] == "2024-02-29").any()
    months = _by_period("revenue")
    feb_2024 = -_posted({"4000", "4100"}, date(2024, 2, 1), date(2024, 2, 29))
    assert feb_2024 != -_posted({"4000", "4100"}, date(2024, 2, 1), date(2024, 2, 28))
    assert months[date(2024, 2, 1)] == feb_2024
    growth = _by_period("revenue_growth_yoy")
    expected = float(months[date(2024, 2, 1)] / months[date(2023, 2, 1)] - 1)
    assert growth[date(2024, 2, 1)] == pytest.approx(expected, rel=1e-12)
    # the fiscal quarter holding the leap day, against the same quarter a year earlier
    quarters = _by_period("revenue_growth_yoy", "quarter", fiscal_year_start_month=12)
    revenue = _by_period("revenue", "quarter", fiscal_year_start_month=12)
    start = date(2023, 12, 1)  # Dec 2023 .. Feb 2024
    assert quarters[start] == pytest.approx(float(revenue[start] / revenue[date(2022, 12, 1)] - 1), rel=1e-12)
    # no growth in the first year: nothing to compare with
    assert all(v is None for p, v in growth.items() if p < date(2024, 1, 1))


def test_fiscal_year_starting_in_april():
    april = date(2024, 4, 15)
    assert ref.period_start(april, "year", 4) == date(2024, 4, 1)
    assert ref.period_start(april, "quarter", 4) == date(2024, 4, 1)
    assert ref.fiscal_year(april, 4) == 2025
    assert ref.period_label(date(2024, 4, 1), "year", 4) == "FY2025"
    assert ref.period_label(date(2024, 4, 1), "quarter", 4) == "FY2025-Q1"
    assert ref.period_start(date(2025, 3, 31), "quarter", 4) == date(2025, 1, 1)
    assert ref.period_label(date(2025, 1, 1), "quarter", 4) == "FY2025-Q4"
    assert ref.period_start(date(2025, 11, 14), "quarter", 4) == date(2025, 10, 1)
    assert ref.period_label(date(2025, 10, 1), "quarter", 4) == "FY2026-Q3"
    # calendar years are named by themselves
    assert ref.fiscal_year(april, 1) == 2024
    assert ref.period_label(date(2024, 7, 1), "quarter", 1) == "FY2024-Q3"
    years = _by_period("revenue", "year", fiscal_year_start_month=4)
    # data starts in January 2023, which is in FY2023 (April 2022 .. March 2023)
    assert list(years) == [date(2022, 4, 1), date(2023, 4, 1), date(2024, 4, 1), date(2025, 4, 1)]
    months = _by_period("revenue")
    assert years[date(2024, 4, 1)] == sum(
        v for m, v in months.items() if date(2024, 4, 1) <= m < date(2025, 4, 1)
    )
    quarters = _by_period("operating_expense", "quarter", fiscal_year_start_month=4)
    assert min(quarters) == date(2023, 1, 1) and max(quarters) == date(2025, 10, 1)


# --------------------------------------------------------------------------------------------------
# a tiny company, worked out by hand

TINY = {
    "exchange_rates": [
        {"rate_date": "2024-01-10", "from_currency": "USD", "to_currency": "EUR", "rate": "0.90000000"}
    ],
    "customers": [
        # the invoice history starts with January 2024 (the month of the first invoice): C1, created
        # in it, is new at its first invoice; C2, created before, may have been invoiced before the
        # extract (existing)
        {
            "customer_id": "C1",
            "region": "DACH",
            "segment": "Enterprise",
            "currency": "EUR",
            "created_date": "2024-01-02",
        },
        {
            "customer_id": "C2",
            "region": "North America",
            "segment": "Small Business",
            "currency": "USD",
            "created_date": "2019-03-01",
        },
    ],
    "products": [
        {"product_id": "P1", "product_type": "finished", "category": "Pumps"},
        {"product_id": "P2", "product_type": "finished", "category": "Valves"},
    ],
    "product_standard_costs": [
        {
            "product_id": "P1",
            "valid_from": "2023-10-01",
            "valid_to": "2024-01-01",
            "standard_cost_eur": "99.0000",
        },
        {
            "product_id": "P1",
            "valid_from": "2024-01-01",
            "valid_to": "9999-12-31",
            "standard_cost_eur": "10.0000",
        },
        {
            "product_id": "P2",
            "valid_from": "2024-01-01",
            "valid_to": "9999-12-31",
            "standard_cost_eur": "3.3333",
        },
    ],
    "invoices": [
        {
            "invoice_id": "IN1",
            "customer_id": "C1",
            "invoice_date": "2024-01-10",
            "due_date": "2024-02-09",
            "currency": "EUR",
            "net_amount": "150.00",
            "tax_amount": "28.50",
            "gross_amount": "178.50",
        },
        {
            "invoice_id": "IN2",
            "customer_id": "C2",
            "invoice_date": "2024-01-10",
            "due_date": "2024-01-24",
            "currency": "USD",
            "net_amount": "43.30",
            "tax_amount": "0.00",
            "gross_amount": "43.30",
        },
    ],
    "invoice_lines": [
        {
            "invoice_id": "IN1",
            "line_number": "1",
            "product_id": "P1",
            "quantity": "2.000",
            "net_amount": "100.00",
            "tax_amount": "19.00",
        },
        {
            "invoice_id": "IN1",
            "line_number": "2",
            "product_id": "P2",
            "quantity": "3.000",
            "net_amount": "50.00",
            "tax_amount": "9.50",
        },
        # 33.25 USD x 0.9 = 29.925 -> 29.93 and 10.05 x 0.9 = 9.045 -> 9.05 (half up, not half even)
        {
            "invoice_id": "IN2",
            "line_number": "1",
            "product_id": "P1",
            "quantity": "1.000",
            "net_amount": "33.25",
            "tax_amount": "0.00",
        },
        {
            "invoice_id": "IN2",
            "line_number": "2",
            "product_id": "P2",
            "quantity": "1.000",
            "net_amount": "10.05",
            "tax_amount": "0.00",
        },
    ],
    "credit_notes": [
        {
            "credit_note_id": "CN1",
            "invoice_id": "IN1",
            "customer_id": "C1",
            "credit_date": "2024-02-05",
            "currency": "EUR",
            "net_amount": "10.00",
            "tax_amount": "1.90",
            "gross_amount": "11.90",
        },
        {
            "credit_note_id": "CN2",
            "invoice_id": "IN2",
            "customer_id": "C2",
            "credit_date": "2024-02-06",
            "currency": "USD",
            "net_amount": "5.00",
            "tax_amount": "0.00",
            "gross_amount": "5.00",
        },
    ],
    "customer_payments": [
        {
            "payment_id": "CP1",
            "customer_id": "C2",
            "invoice_id": "IN2",
            "payment_date": "2024-02-05",
            "currency": "USD",
            "amount": "20.00",
        },
    ],
    "write_offs": [],
}
TINY_AS_OF = date(2024, 2, 28)
JAN, FEB = date(2024, 1, 1), date(2024, 2, 1)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny")
    (folder / "erp").mkdir()
    for table, rows in TINY.items():
        with open(folder / "erp" / f"{table}.csv", "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns("erp", table), restval="")
            writer.writeheader()
            writer.writerows(rows)
    return folder


def _tiny(tiny, metric, grain="month", dimension="total"):
    return _values(metric, grain, dimension, as_of=TINY_AS_OF, data_dir=tiny)


def D(text: str) -> Decimal:
    return Decimal(text)


def test_tiny_company_revenue_cogs_and_credit_note_allocation(tiny):
    # IN2 per document, as the ledger posts it: round(43.30 x 0.9) = 38.97; its lines convert to
    # 29.93 and 9.05, so the last line carries 38.97 - 29.93 = 9.04
    assert _tiny(tiny, "revenue") == {(JAN, "all"): D("188.97"), (FEB, "all"): D("-14.50")}
    # CN1: 10.00 x 100/150 = 6.67 on line 1, the remainder 3.33 on the last line;
    # CN2: 5.00 USD at the invoice's rate = 4.50 EUR; 4.50 x 33.25/43.30 = 3.4555 -> 3.46, remainder 1.04
    assert _tiny(tiny, "revenue", dimension="product_category") == {
        (JAN, "Pumps"): D("129.93"),
        (JAN, "Valves"): D("59.04"),
        (FEB, "Pumps"): D("-10.13"),
        (FEB, "Valves"): D("-4.37"),
    }
    assert _tiny(tiny, "revenue", dimension="region") == {
        (JAN, "DACH"): D("150.00"),
        (JAN, "North America"): D("38.97"),
        (FEB, "DACH"): D("-10.00"),
        (FEB, "North America"): D("-4.50"),
    }
    # 2 x 10 + 3 x 3.3333 = 9.9999 -> 10.00, 1 x 10 + 1 x 3.3333 -> 3.33; credit notes add no COGS
    assert _tiny(tiny, "cogs") == {(JAN, "all"): D("43.33"), (FEB, "all"): D("0.00")}
    assert _tiny(tiny, "gross_profit")[(JAN, "all")] == D("145.64")
    assert _tiny(tiny, "revenue", "quarter") == {(JAN, "all"): D("174.47")}
    # a fiscal year from April: January and February 2024 are in FY2024 (April 2023 .. March 2024)
    years = _values("revenue", "year", as_of=TINY_AS_OF, data_dir=tiny, fiscal_year_start_month=4)
    assert years == {(date(2023, 4, 1), "all"): D("174.47")}


def test_tiny_company_receivables(tiny):
    # AR at the end of January: 178.50 + round(43.30 x 0.9) = 178.50 + 38.97; gross invoiced per
    # document (as the ledger posts it) is the same 217.47, not 178.50 + 29.93 + 9.05 per line
    dso = _tiny(tiny, "dso")
    assert dso[(JAN, "all")] == pytest.approx(217.47 / 217.47 * 31, rel=1e-12)
    assert dso[(FEB, "all")] is None  # nothing invoiced in February
    # the running quarter: AR at as_of (28 Feb) over gross invoiced, x 59 days (Jan 1 .. Feb 28).
    # AR at as_of: IN1 178.50 - 11.90 = 166.60; IN2 43.30 - 20.00 - 5.00 = 18.30 USD -> 16.47
    assert _tiny(tiny, "dso", "quarter")[(JAN, "all")] == pytest.approx(183.07 / 217.47 * 59, rel=1e-12)
    # the payment takes round(43.30 x 0.9) - round(23.30 x 0.9) = 38.97 - 20.97 = 18.00 off receivables
    collection = _tiny(tiny, "ar_collection_rate")
    assert collection == {(JAN, "all"): 0.0, (FEB, "all"): pytest.approx(18.00 / 217.47, rel=1e-12)}
    # on 28 Feb IN2 (due 24 Jan) is 35 days past due, IN1 (due 9 Feb) is not
    overdue = _tiny(tiny, "overdue_ar_ratio")
    assert overdue == {(JAN, "all"): 0.0, (FEB, "all"): pytest.approx(16.47 / 183.07, rel=1e-12)}


def test_tiny_company_customers(tiny):
    assert _tiny(tiny, "new_customers") == {(JAN, "all"): D(1), (FEB, "all"): D(0)}
    assert _tiny(tiny, "active_customers") == {(JAN, "all"): D(2), (FEB, "all"): D(0)}
    assert _tiny(tiny, "repeat_purchase_rate") == {(JAN, "all"): 0.5, (FEB, "all"): None}
    assert _tiny(tiny, "active_customers", dimension="customer_segment") == {
        (JAN, "Enterprise"): D(1),
        (JAN, "Small Business"): D(1),
    }
