"""An independent reference computation of every finkpi metric, in pandas over the raw CSV extracts.

It never reads a dbt model or the warehouse: it is the second computation the exported
`metric_values` are checked against. The definitions are the ones agreed for the metric layer
(money in EUR; conversion `round_half_up(amount x rate, 2)` per document as the ledger posts it,
the rounding difference on a document's last line; balances per
invoice at the invoice-date rate; periods up to the one containing `as_of`). The sales and
purchase orders of the SAP source (a second ERP, computed from its own files by tests/sap/oracle.py)
are added to the sample company's.

Money is summed as integer cents, so additive currency metrics are exact; ratios are computed from
the exact components and returned as floats.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from finkpi.sources import crm as crm_source
from tests.conftest import SAMPLE_DIR
from tests.sap import oracle as sap_oracle

CENT = Decimal("0.01")
GRAINS = ("month", "quarter", "year")
GRAIN_MONTHS = {"month": 1, "quarter": 3, "year": 12}

MONEY = "money"  # Decimal, exact to the cent
COUNT = "count"  # Decimal, integral
RATIO = "ratio"  # float (ratios, percentages, days, hours, EUR per unit)


# --------------------------------------------------------------------------------------------------
# raw files


@functools.cache
def _raw(data_dir: Path, source: str, table: str) -> pd.DataFrame:
    """One raw table, every column as stripped text (empty cells as '')."""
    frame = pd.read_csv(data_dir / source / f"{table}.csv", dtype=str, keep_default_na=False)
    return frame.apply(lambda column: column.str.strip())


@functools.cache
def _rates(data_dir: Path) -> dict[tuple[str, str], Decimal]:
    rates = _raw(data_dir, "erp", "exchange_rates")
    return {
        (c, d): Decimal(r)
        for c, d, r in zip(rates["from_currency"], rates["rate_date"], rates["rate"], strict=True)
    }


def _rate(rates, currency: str, day: str) -> Decimal:
    return Decimal(1) if currency == "EUR" else rates[(currency, day)]


def _round(value: Decimal) -> Decimal:
    """Round half away from zero to the cent (what DuckDB's decimal rounding does)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _eur(amount: Decimal, currency: str, rate: Decimal) -> Decimal:
    return amount if currency == "EUR" else _round(amount * rate)


def _cents(value: Decimal) -> int:
    return int(value.scaleb(2))


def _sap_included(data_dir: Path) -> bool:
    """The pipeline builds the SAP source (tests/sap/oracle.py) beside whatever ERP and CRM data it
    is given; the tests build it beside the bundled sample. The hand-made tiny companies of the
    self-check have no SAP company."""
    return Path(data_dir).resolve() == SAMPLE_DIR.resolve()


def default_as_of(data_dir: Path = SAMPLE_DIR) -> date:
    """The latest order date (the pipeline's default as-of date)."""
    return date.fromisoformat(_raw(data_dir, "erp", "sales_orders")["order_date"].max())


@functools.cache
def _customers(data_dir: Path) -> pd.DataFrame:
    customers = _raw(data_dir, "erp", "customers")
    return pd.DataFrame(
        {"region": customers["region"].values, "customer_segment": customers["segment"].values},
        index=customers["customer_id"].values,
    )


@functools.cache
def _categories(data_dir: Path) -> dict[str, str]:
    products = _raw(data_dir, "erp", "products")
    return dict(zip(products["product_id"], products["category"], strict=True))


@functools.cache
def _standard_costs(data_dir: Path) -> dict[str, tuple[list[str], list[tuple[str, Decimal]]]]:
    costs = _raw(data_dir, "erp", "product_standard_costs").sort_values(["product_id", "valid_from"])
    table: dict[str, tuple[list[str], list[tuple[str, Decimal]]]] = {}
    for product, valid_from, valid_to, cost in zip(
        costs["product_id"], costs["valid_from"], costs["valid_to"], costs["standard_cost_eur"], strict=True
    ):
        starts, rows = table.setdefault(product, ([], []))
        starts.append(valid_from)
        rows.append((valid_to, Decimal(cost)))
    return table


def _standard_cost(data_dir: Path, product: str, day: str) -> Decimal:
    """The standard cost valid on `day` (valid_from <= day < valid_to)."""
    starts, rows = _standard_costs(data_dir)[product]
    i = bisect.bisect_right(starts, day) - 1
    if i < 0 or not day < rows[i][0]:
        raise KeyError(f"no standard cost for {product} on {day}")
    return rows[i][1]


def _with_customer(frame: pd.DataFrame, data_dir: Path, column: str = "customer_id") -> pd.DataFrame:
    customers = _customers(data_dir)
    return frame.assign(
        region=frame[column].map(customers["region"]),
        customer_segment=frame[column].map(customers["customer_segment"]),
    )


@functools.cache
def _account_customers(data_dir: Path) -> dict[str, str | None]:
    """CRM account -> ERP customer, matched the way tests/models/test_identity_resolution.py says."""
    if data_dir.resolve() != SAMPLE_DIR.resolve():
        raise ValueError("the identity matcher of the tests reads the bundled sample only")
    from tests.models.test_identity_resolution import expected_matches

    return {account: customer for account, (customer, _method) in expected_matches().items()}


@functools.cache
def crm_company(data_dir: Path) -> str:
    """The company the CRM's records belong to: the sample's one legal entity (the CRM extract
    has no company column; docs/sample-company.md)."""
    companies = _raw(data_dir, "erp", "company_codes")["company_code"].unique()
    if len(companies) != 1:
        raise ValueError(f"{data_dir}/erp/company_codes.csv: the CRM's company is ambiguous: {companies}")
    return companies[0]


def _with_crm_source(frame: pd.DataFrame, data_dir: Path) -> pd.DataFrame:
    """A CRM fact's own company and source, whatever its account's customer match."""
    return frame.assign(company_code=crm_company(data_dir), source_system="crm")


# --------------------------------------------------------------------------------------------------
# events: one frame per business fact, a `day` (ISO text) and integer cents or counts


@functools.cache
def _invoice_lines(data_dir: Path) -> pd.DataFrame:
    """Invoice lines in EUR at the invoice-date rate, rounded per document as the ledger posts:
    the invoice's net is round(gross x rate) - round(tax x rate) and its tax round(tax x rate);
    each line is converted by itself and the last line (highest line number) takes the rest.
    COGS at standard per line."""
    rates = _rates(data_dir)
    invoices = _raw(data_dir, "erp", "invoices")
    header = {
        invoice: (currency, day, Decimal(gross), Decimal(tax))
        for invoice, currency, day, gross, tax in zip(
            invoices["invoice_id"],
            invoices["currency"],
            invoices["invoice_date"],
            invoices["gross_amount"],
            invoices["tax_amount"],
            strict=True,
        )
    }
    lines = _raw(data_dir, "erp", "invoice_lines").merge(
        invoices[["invoice_id", "customer_id", "invoice_date", "currency"]],
        on="invoice_id",
        validate="many_to_one",
    )
    lines = lines.assign(line=lines["line_number"].astype(int)).sort_values(["invoice_id", "line"])
    net, gross, cogs = [], [], []
    for invoice, group in lines.groupby("invoice_id", sort=False):
        currency, day, invoice_gross, invoice_tax = header[invoice]
        rate = _rate(rates, currency, day)
        document_tax = _eur(invoice_tax, currency, rate)
        document_net = _eur(invoice_gross, currency, rate) - document_tax
        line_net = [_eur(Decimal(v), currency, rate) for v in group["net_amount"]]
        line_tax = [_eur(Decimal(v), currency, rate) for v in group["tax_amount"]]
        line_net[-1] = document_net - sum(line_net[:-1], Decimal(0))
        line_tax[-1] = document_tax - sum(line_tax[:-1], Decimal(0))
        net += [_cents(v) for v in line_net]
        gross += [_cents(n + t) for n, t in zip(line_net, line_tax, strict=True)]
        cogs += [
            _cents(_round(Decimal(quantity) * _standard_cost(data_dir, product, day)))
            for quantity, product in zip(group["quantity"], group["product_id"], strict=True)
        ]
    frame = lines.assign(
        day=lines["invoice_date"],
        net_cents=pd.array(net, dtype="int64"),
        gross_cents=pd.array(gross, dtype="int64"),
        cogs_cents=pd.array(cogs, dtype="int64"),
        product_category=lines["product_id"].map(_categories(data_dir)),
    )
    return _with_customer(frame, data_dir)


@functools.cache
def _credit_note_lines(data_dir: Path) -> pd.DataFrame:
    """Credit notes spread over their invoice's lines pro rata to line net. In EUR as the ledger
    posts the credit note: the receivable it clears (`_ar_movements`, at the invoice's rate) less
    its tax converted; rounded per line, the last line (highest line number) takes the remainder."""
    rates = _rates(data_dir)
    lines = _invoice_lines(data_dir).sort_values(["invoice_id", "line"])
    by_invoice = {invoice: group for invoice, group in lines.groupby("invoice_id", sort=False)}
    moves = _ar_movements(data_dir)
    cleared = dict(zip(moves["document_id"], -moves["cents"], strict=True))
    rows = []
    credits = _raw(data_dir, "erp", "credit_notes")
    for credit_id, invoice_id, day, tax in zip(
        credits["credit_note_id"],
        credits["invoice_id"],
        credits["credit_date"],
        credits["tax_amount"],
        strict=True,
    ):
        group = by_invoice[invoice_id]
        currency, invoice_day = group["currency"].iloc[0], group["invoice_date"].iloc[0]
        tax_eur = _eur(Decimal(tax), currency, _rate(rates, currency, invoice_day))
        credit_eur = Decimal(int(cleared[credit_id])).scaleb(-2) - tax_eur
        line_nets = [Decimal(v) for v in group["net_amount"]]
        invoice_net = sum(line_nets, Decimal(0))
        allocated = [_round(credit_eur * v / invoice_net) for v in line_nets[:-1]]
        allocated.append(credit_eur - sum(allocated, Decimal(0)))
        for (_, line), amount in zip(group.iterrows(), allocated, strict=True):
            rows.append(
                {
                    "credit_note_id": credit_id,
                    "invoice_id": invoice_id,
                    "line": line["line"],
                    "day": day,
                    "customer_id": line["customer_id"],
                    "region": line["region"],
                    "customer_segment": line["customer_segment"],
                    "product_category": line["product_category"],
                    "net_cents": _cents(amount),
                }
            )
    return pd.DataFrame(rows).astype({"net_cents": "int64"})


@functools.cache
def _revenue_events(data_dir: Path, as_of: date) -> pd.DataFrame:
    columns = ["day", "region", "customer_segment", "product_category"]
    lines = _invoice_lines(data_dir)
    credits = _credit_note_lines(data_dir)
    frame = pd.concat(
        [
            lines[columns].assign(cents=lines["net_cents"]),
            credits[columns].assign(cents=-credits["net_cents"]),
        ],
        ignore_index=True,
    )
    return frame[frame["day"] <= as_of.isoformat()]


@functools.cache
def _invoice_line_events(data_dir: Path, as_of: date) -> pd.DataFrame:
    lines = _invoice_lines(data_dir)
    return lines[lines["day"] <= as_of.isoformat()]


@functools.cache
def _new_customer_events(data_dir: Path, as_of: date) -> pd.DataFrame:
    """Customers at their first invoice up to `as_of`, counted only when that invoice is provably
    their first ever: the customer was created on or after the start of its company's invoice
    history (the first day of the month of the company's earliest invoice up to `as_of`). One
    created before, or with no creation date, may have been invoiced before the extract begins:
    an existing customer."""
    invoices = _raw(data_dir, "erp", "invoices")
    invoices = invoices[invoices["invoice_date"] <= as_of.isoformat()]
    history_start = invoices.groupby("company_code")["invoice_date"].min().str[:8] + "01"
    first = invoices.groupby("customer_id", as_index=False)["invoice_date"].min()
    customers = _raw(data_dir, "erp", "customers").set_index("customer_id")
    first = first.assign(
        created=first["customer_id"].map(customers["created_date"]),
        history_start=first["customer_id"].map(customers["company_code"]).map(history_start),
    )
    provably_first = (first["created"] != "") & (first["created"] >= first["history_start"])
    first = first[provably_first].rename(columns={"invoice_date": "day"}).assign(one=1)
    return _with_customer(first, data_dir)


@functools.cache
def _order_line_events(data_dir: Path, as_of: date) -> pd.DataFrame:
    rates = _rates(data_dir)
    orders = _raw(data_dir, "erp", "sales_orders")
    orders = orders[(orders["status"] != "cancelled") & (orders["order_date"] <= as_of.isoformat())]
    lines = _raw(data_dir, "erp", "sales_order_lines").merge(
        orders[["order_id", "customer_id", "order_date", "currency"]], on="order_id", validate="many_to_one"
    )
    cents = [
        _cents(_eur(Decimal(net), currency, _rate(rates, currency, day)))
        for net, currency, day in zip(
            lines["net_amount"], lines["currency"], lines["order_date"], strict=True
        )
    ]
    frame = lines.assign(
        day=lines["order_date"],
        cents=pd.array(cents, dtype="int64"),
        product_category=lines["product_id"].map(_categories(data_dir)),
    )
    frame = _with_customer(frame, data_dir)
    if not _sap_included(data_dir):
        return frame
    sap = sap_oracle.sales_order_lines()
    sap = sap[~sap["is_cancelled"] & (sap["day"] <= as_of.isoformat())]
    columns = ["order_id", "customer_id", "day", "cents", "region", "customer_segment", "product_category"]
    return pd.concat([frame, sap[columns]], ignore_index=True)


@functools.cache
def _gl(data_dir: Path) -> pd.DataFrame:
    gl = _raw(data_dir, "erp", "gl_journal_entries")
    accounts = _raw(data_dir, "erp", "gl_accounts").set_index("account_id")
    departments = _raw(data_dir, "erp", "cost_centers").set_index("cost_center_id")["department"]
    return gl.assign(
        day=gl["posting_date"],
        cents=[_cents(Decimal(v)) for v in gl["amount_eur"]],
        account_group=gl["account_id"].map(accounts["account_group"]),
        cash_flow_category=gl["account_id"].map(accounts["cash_flow_category"]),
        department=gl["cost_center_id"].map(departments),
    )


@functools.cache
def _opex_events(data_dir: Path, as_of: date) -> pd.DataFrame:
    gl = _gl(data_dir)
    return gl[(gl["account_group"] == "opex") & (gl["day"] <= as_of.isoformat())]


# the account the ledger posts exchange differences to (gl_accounts.csv: FX gains and losses)
FX_DIFFERENCE_ACCOUNT = "7000"


@functools.cache
def _operating_cash_events(data_dir: Path, as_of: date) -> pd.DataFrame:
    """The cash of entries that post to a cash account and whose other lines all carry the one
    cash-flow category 'operating', except a revaluation (other lines on the exchange-difference
    account alone: no cash moved). Attributed to departments through the counter-postings: each
    non-cash line stands for minus its amount of the entry's cash, in its cost center's department,
    or for a receivable or payable a payment settles, the department of the invoice it settles
    (that invoice's lines with a cost center, all in one department); else '(unassigned)'. The cash
    lines' own sum is checked against it below."""
    gl = _gl(data_dir)
    is_cash = gl["account_group"] == "cash"
    moves_cash = set(gl.loc[is_cash, "entry_id"])
    others = gl[~is_cash & gl["entry_id"].isin(moves_cash)]
    categories = others.groupby("entry_id")["cash_flow_category"].agg(frozenset)
    accounts = others.groupby("entry_id")["account_id"].agg(frozenset)
    operating = {
        entry
        for entry, category in categories.items()
        if category == frozenset({"operating"}) and accounts[entry] != frozenset({FX_DIFFERENCE_ACCOUNT})
    }
    counter = others[others["entry_id"].isin(operating)]
    cash = gl[is_cash & gl["entry_id"].isin(operating)]
    # an entry balances: its cash lines are minus its counter-postings, entry by entry
    by_entry = (
        cash.groupby("entry_id")["cents"].sum().add(counter.groupby("entry_id")["cents"].sum(), fill_value=0)
    )
    unbalanced = sorted(by_entry[by_entry != 0].index)
    if unbalanced:
        raise AssertionError(f"entries of the raw ledger that do not balance: {unbalanced[:5]}")
    settled = _settled_invoice_departments(data_dir)

    def attributed(own, document: str, account: str) -> str:
        if isinstance(own, str):  # the line's own cost center
            return own
        if account in ("1200", "2000"):  # a receivable or payable: the invoice the payment settles
            return settled.get(document, "(unassigned)")
        return "(unassigned)"

    department = [
        attributed(*line)
        for line in zip(counter["department"], counter["document_id"], counter["account_id"], strict=True)
    ]
    frame = counter.assign(cents=-counter["cents"], department=department)
    return frame[frame["day"] <= as_of.isoformat()]


@functools.cache
def _settled_invoice_departments(data_dir: Path) -> dict[str, str]:
    """payment id -> the department of the invoice it settles: the departments of the invoice's
    ledger lines with a cost center, where that is one (customer invoices: the revenue line's;
    supplier invoices: the price variance line's)."""
    gl = _gl(data_dir)
    departments = gl[gl["department"].notna()].groupby("document_id")["department"].agg(set)
    of_invoice = {document: next(iter(d)) for document, d in departments.items() if len(d) == 1}
    payments = _raw(data_dir, "erp", "customer_payments")
    supplier_payments = _raw(data_dir, "erp", "supplier_payments")
    pairs = list(zip(payments["payment_id"], payments["invoice_id"], strict=True))
    pairs += zip(supplier_payments["payment_id"], supplier_payments["supplier_invoice_id"], strict=True)
    return {payment: of_invoice[invoice] for payment, invoice in pairs if invoice in of_invoice}


@functools.cache
def _cogs_variance_events(data_dir: Path, as_of: date) -> pd.DataFrame:
    """Postings to the variance accounts of cost of sales: 5100 (purchase price), 5200 (production
    and revaluation) and 5300 (conversion cost)."""
    gl = _gl(data_dir)
    return gl[gl["account_id"].isin({"5100", "5200", "5300"}) & (gl["day"] <= as_of.isoformat())]


def _telescoped(documents: list[tuple], rate: Decimal, currency: str) -> list[int]:
    """EUR cents each document moves on an open item: round(open_after x r) - round(open_before x r)."""
    open_amount, booked, moves = Decimal(0), Decimal(0), []
    for *_key, signed in documents:
        open_amount += signed
        now = _eur(open_amount, currency, rate)
        moves.append(_cents(now - booked))
        booked = now
    return moves


def _open_item_movements(
    items: pd.DataFrame, settlements: list[tuple[pd.DataFrame, str, str, str, str]], data_dir: Path
) -> pd.DataFrame:
    """Movements of open items (columns item_id, day, currency, gross, due_date) and their
    settlements (frame, item column, document id column, date column, amount column)."""
    rates = _rates(data_dir)
    docs: dict[str, list[tuple]] = {}
    for item, day, gross in zip(items["item_id"], items["day"], items["gross"], strict=True):
        docs.setdefault(item, []).append((day, 0, item, "invoiced", Decimal(gross)))
    for frame, item_col, id_col, day_col, amount_col in settlements:
        for item, doc, day, amount in zip(
            frame[item_col], frame[id_col], frame[day_col], frame[amount_col], strict=True
        ):
            docs[item].append((day, 1, doc, id_col, -Decimal(amount)))
    header = items.set_index("item_id")
    rows = []
    for item, documents in docs.items():
        documents.sort(key=lambda d: d[:3])
        currency, item_day = header.at[item, "currency"], header.at[item, "day"]
        moves = _telescoped(
            [(d[0], d[1], d[2], d[4]) for d in documents], _rate(rates, currency, item_day), currency
        )
        for (day, _order, doc, kind, _amount), cents in zip(documents, moves, strict=True):
            rows.append((item, doc, kind, day, cents, header.at[item, "due_date"]))
    frame = pd.DataFrame(rows, columns=["item_id", "document_id", "kind", "day", "cents", "due_date"])
    return frame.astype({"cents": "int64"})


@functools.cache
def _ar_movements(data_dir: Path) -> pd.DataFrame:
    invoices = _raw(data_dir, "erp", "invoices").rename(
        columns={"invoice_id": "item_id", "invoice_date": "day", "gross_amount": "gross"}
    )
    return _open_item_movements(
        invoices,
        [
            (
                _raw(data_dir, "erp", "customer_payments"),
                "invoice_id",
                "payment_id",
                "payment_date",
                "amount",
            ),
            (
                _raw(data_dir, "erp", "credit_notes"),
                "invoice_id",
                "credit_note_id",
                "credit_date",
                "gross_amount",
            ),
            (_raw(data_dir, "erp", "write_offs"), "invoice_id", "write_off_id", "write_off_date", "amount"),
        ],
        data_dir,
    )


@functools.cache
def _ap_movements(data_dir: Path) -> pd.DataFrame:
    invoices = _raw(data_dir, "erp", "supplier_invoices").rename(
        columns={"supplier_invoice_id": "item_id", "invoice_date": "day", "gross_amount": "gross"}
    )
    return _open_item_movements(
        invoices,
        [
            (
                _raw(data_dir, "erp", "supplier_payments"),
                "supplier_invoice_id",
                "payment_id",
                "payment_date",
                "amount",
            )
        ],
        data_dir,
    )


@functools.cache
def _collection_events(data_dir: Path, as_of: date) -> pd.DataFrame:
    """Customer payments with the EUR they take off receivables (positive)."""
    moves = _ar_movements(data_dir)
    payments = moves[(moves["kind"] == "payment_id") & (moves["day"] <= as_of.isoformat())]
    return payments.assign(cents=-payments["cents"])


@functools.cache
def _inventory_movements(data_dir: Path) -> pd.DataFrame:
    movements = _raw(data_dir, "erp", "inventory_movements")
    return pd.DataFrame(
        {
            "day": movements["movement_date"],
            "cents": pd.array([_cents(Decimal(v)) for v in movements["value_eur"]], dtype="int64"),
            "product_category": movements["product_id"].map(_categories(data_dir)),
        }
    )


@functools.cache
def _production_events(data_dir: Path, as_of: date) -> pd.DataFrame:
    orders = _raw(data_dir, "erp", "production_orders")
    orders = orders[(orders["finish_date"] != "") & (orders["finish_date"] <= as_of.isoformat())]
    return pd.DataFrame(
        {
            "day": orders["finish_date"],
            "cost_cents": pd.array([_cents(Decimal(v)) for v in orders["actual_cost_eur"]], dtype="int64"),
            # quantities have 3 decimals: thousandths as integers keep sums exact
            "good_milli": pd.array([int(Decimal(v) * 1000) for v in orders["good_quantity"]], dtype="int64"),
            "scrap_milli": pd.array(
                [int(Decimal(v) * 1000) for v in orders["scrapped_quantity"]], dtype="int64"
            ),
        }
    )


@functools.cache
def _receipt_events(data_dir: Path, as_of: date) -> pd.DataFrame:
    """Goods receipt lines: purchase price variance in EUR cents. What was paid is rounded per
    document, as the ledger posts the receipt's supplier invoice: round(gross x rate) -
    round(tax x rate), each line converted by itself and the receipt's last line taking the
    difference; a receipt without a supplier invoice, line by line."""
    rates = _rates(data_dir)
    receipts = _raw(data_dir, "erp", "goods_receipts")
    receipts = receipts[receipts["receipt_date"] <= as_of.isoformat()]
    po_lines = _raw(data_dir, "erp", "purchase_order_lines")[["po_id", "line_number", "unit_price"]]
    pos = _raw(data_dir, "erp", "purchase_orders")[["po_id", "currency"]]
    invoices = _raw(data_dir, "erp", "supplier_invoices").set_index("receipt_id")
    merged = receipts.merge(
        po_lines,
        left_on=["po_id", "po_line_number"],
        right_on=["po_id", "line_number"],
        validate="many_to_one",
    ).merge(pos, on="po_id", validate="many_to_one")
    merged = merged.assign(order=merged["po_line_number"].astype(int)).sort_values(["receipt_id", "order"])
    paid: dict[int, Decimal] = {}
    for receipt_id, lines in merged.groupby("receipt_id", sort=False):
        currency, day = lines["currency"].iloc[0], lines["receipt_date"].iloc[0]
        rate = _rate(rates, currency, day)
        for index, quantity, price in zip(lines.index, lines["quantity"], lines["unit_price"], strict=True):
            paid[index] = _eur(_round(Decimal(quantity) * Decimal(price)), currency, rate)
        if receipt_id in invoices.index:
            invoice = invoices.loc[receipt_id]
            document = _eur(Decimal(invoice["gross_amount"]), currency, rate) - _eur(
                Decimal(invoice["tax_amount"]), currency, rate
            )
            last = lines.index[-1]
            paid[last] = document - (sum(paid[i] for i in lines.index) - paid[last])
    ppv = [
        _cents(paid[index] - _round(Decimal(quantity) * _standard_cost(data_dir, product, day)))
        for index, quantity, product, day in zip(
            merged.index, merged["quantity"], merged["product_id"], merged["receipt_date"], strict=True
        )
    ]
    return merged.assign(
        day=merged["receipt_date"],
        cents=pd.array(ppv, dtype="int64"),
    )


def _due_by_promised_date(
    lines: pd.DataFrame, fulfilments: pd.DataFrame, fulfilment_keys: list[str], date_column: str, cutoff: str
) -> pd.DataFrame:
    """Order lines joined to their fulfilment (a delivery, a goods receipt; `fulfilment_keys` are
    its order id, the same column name as the lines', and its line number), kept when fulfilled by
    `cutoff` or promised before it (a line neither fulfilled nor due is pending: left out), dated
    by the promised date, with `on_time`: fulfilled on or before the promised date (an overdue
    line is late)."""
    order_key, _line_key = fulfilment_keys
    merged = lines.merge(
        fulfilments,
        how="left",
        left_on=[order_key, "line_number"],
        right_on=fulfilment_keys,
        validate="one_to_one",
    )
    day = merged[date_column].fillna("")
    fulfilled = (day != "") & (day <= cutoff)
    merged = merged.assign(
        day=merged["promised_date"], one=1, on_time=fulfilled & (day <= merged["promised_date"])
    )
    return merged[fulfilled | (merged["promised_date"] < cutoff)]


@functools.cache
def _supplier_punctuality_population(data_dir: Path, as_of: date) -> pd.DataFrame:
    """Purchase order lines of orders not cancelled or rejected, by promised date, with their
    on-time outcome: received (last receipt by `as_of`) on or before the promised date; a line not
    received whose promised date is before `as_of` is late; one not yet due is left out."""
    orders = _raw(data_dir, "erp", "purchase_orders")
    orders = orders[~orders["status"].isin(["cancelled", "rejected"])][["po_id"]]
    lines = _raw(data_dir, "erp", "purchase_order_lines").merge(orders, on="po_id", validate="many_to_one")
    cutoff = as_of.isoformat()
    receipts = _raw(data_dir, "erp", "goods_receipts")
    receipts = receipts[receipts["receipt_date"] <= cutoff]
    last_receipts = receipts.groupby(["po_id", "po_line_number"], as_index=False)["receipt_date"].max()
    due = _due_by_promised_date(lines, last_receipts, ["po_id", "po_line_number"], "receipt_date", cutoff)
    return due.assign(on_time=due["on_time"].astype("int64"))


@functools.cache
def _purchase_line_events(data_dir: Path, as_of: date) -> pd.DataFrame:
    rates = _rates(data_dir)
    pos = _raw(data_dir, "erp", "purchase_orders")
    pos = pos[~pos["status"].isin(["cancelled", "rejected"]) & (pos["order_date"] <= as_of.isoformat())]
    lines = _raw(data_dir, "erp", "purchase_order_lines").merge(
        pos[["po_id", "supplier_id", "order_date", "currency"]], on="po_id", validate="many_to_one"
    )
    cents = [
        _cents(_eur(Decimal(net), currency, _rate(rates, currency, day)))
        for net, currency, day in zip(
            lines["net_amount"], lines["currency"], lines["order_date"], strict=True
        )
    ]
    frame = lines.assign(day=lines["order_date"], cents=pd.array(cents, dtype="int64"))
    if not _sap_included(data_dir):
        return frame
    sap = sap_oracle.purchase_order_lines()
    sap = sap[~sap["is_cancelled_or_rejected"] & (sap["day"] <= as_of.isoformat())]
    return pd.concat([frame, sap[["po_id", "supplier_id", "day", "cents"]]], ignore_index=True)


@functools.cache
def _opportunity_events(data_dir: Path, as_of: date) -> pd.DataFrame:
    opportunities = _raw(data_dir, "crm", "Opportunity")
    # quarantined (expectations/rules.yml): closed before created, a stage the CRM does not declare
    opportunities = opportunities[
        (opportunities["CloseDate"] >= opportunities["CreatedDate"].str[:10])
        & opportunities["StageName"].isin(crm_source.STAGE_NAMES)
    ]
    closed = opportunities[
        (opportunities["IsClosed"].str.lower() == "true") & (opportunities["CloseDate"] <= as_of.isoformat())
    ]
    won = (closed["IsWon"].str.lower() == "true").astype("int64")
    cycle = [
        (date.fromisoformat(close) - date.fromisoformat(created[:10])).days
        for close, created in zip(closed["CloseDate"], closed["CreatedDate"], strict=True)
    ]
    frame = pd.DataFrame(
        {
            "day": closed["CloseDate"].values,
            "won": won.values,
            "one": 1,
            "won_cycle_days": np.array(cycle, dtype="int64") * won.to_numpy(),
        }
    )
    return _with_crm_source(frame, data_dir)


@functools.cache
def _delivery_population(data_dir: Path, as_of: date) -> pd.DataFrame:
    """Order lines of non-cancelled orders, by promised date, with their on-time / in-full outcome;
    lines not delivered by `as_of` whose promised date is not yet past are left out (pending)."""
    orders = _raw(data_dir, "erp", "sales_orders")
    orders = orders[orders["status"] != "cancelled"][["order_id", "customer_id"]]
    lines = _raw(data_dir, "erp", "sales_order_lines").merge(orders, on="order_id", validate="many_to_one")
    deliveries = _raw(data_dir, "erp", "deliveries")[
        ["order_id", "order_line_number", "actual_date", "quantity_shipped"]
    ]
    due = _due_by_promised_date(
        lines, deliveries, ["order_id", "order_line_number"], "actual_date", as_of.isoformat()
    )
    shipped = due["quantity_shipped"].fillna("").map(lambda v: Decimal(v) if v else Decimal(0))
    in_full = shipped >= due["quantity"].map(Decimal)
    frame = due.assign(
        on_time=due["on_time"].astype("int64"), otif=(due["on_time"] & in_full).astype("int64")
    )
    return _with_customer(frame, data_dir)


@functools.cache
def _delivered_line_events(data_dir: Path, as_of: date) -> pd.DataFrame:
    deliveries = _raw(data_dir, "erp", "deliveries")
    deliveries = deliveries[
        (deliveries["actual_date"] != "") & (deliveries["actual_date"] <= as_of.isoformat())
    ]
    orders = _raw(data_dir, "erp", "sales_orders")[["order_id", "customer_id", "company_code"]]
    frame = deliveries.merge(orders, on="order_id", validate="many_to_one")
    return _with_customer(frame.assign(day=frame["actual_date"], one=1), data_dir)


def _hours(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds() / 3600


@functools.cache
def _case_events(data_dir: Path, as_of: date) -> pd.DataFrame:
    """Cases by the local created day; a response or closure after `as_of` (local day) does not count."""
    cutoff = as_of.isoformat()
    cases = _raw(data_dir, "crm", "Case")
    # quarantined (expectations/rules.yml): closed before opened (by the instant), a status or
    # priority the CRM does not declare
    closed_in_order = [
        not closed or datetime.fromisoformat(closed) >= datetime.fromisoformat(created)
        for created, closed in zip(cases["CreatedDate"], cases["ClosedDate"], strict=True)
    ]
    cases = cases[
        np.array(closed_in_order, dtype=bool)
        & cases["Status"].isin(crm_source.CASE_STATUSES)
        & cases["Priority"].isin(crm_source.CASE_PRIORITIES)
    ]
    cases = cases[cases["CreatedDate"].str[:10] <= cutoff]
    customers = _account_customers(data_dir)
    responded = (cases["First_Response_Date__c"] != "") & (cases["First_Response_Date__c"].str[:10] <= cutoff)
    closed = (cases["ClosedDate"] != "") & (cases["ClosedDate"].str[:10] <= cutoff)
    frame = pd.DataFrame(
        {
            "day": cases["CreatedDate"].str[:10],
            "customer_id": cases["AccountId"].map(lambda a: customers.get(a)),
            "complaint": (cases["Type"] == "Complaint").astype("int64"),
            "responded": responded.astype("int64"),
            "response_hours": [
                _hours(c, r) if ok else 0.0
                for c, r, ok in zip(
                    cases["CreatedDate"], cases["First_Response_Date__c"], responded, strict=True
                )
            ],
            "closed": closed.astype("int64"),
            "open": (~closed).astype("int64"),
            "resolution_hours": [
                _hours(c, r) if ok else 0.0
                for c, r, ok in zip(cases["CreatedDate"], cases["ClosedDate"], closed, strict=True)
            ],
        }
    )
    return _with_customer(_with_crm_source(frame, data_dir), data_dir)


# --------------------------------------------------------------------------------------------------
# the fiscal calendar


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def period_start(day: date, grain: str, fiscal_year_start_month: int = 1) -> date:
    """First day of the month, fiscal quarter or fiscal year containing `day`."""
    months_into_year = (day.month - fiscal_year_start_month) % 12
    back = {"month": 0, "quarter": months_into_year % 3, "year": months_into_year}[grain]
    return _add_months(date(day.year, day.month, 1), -back)


def period_end(start: date, grain: str) -> date:
    return _add_months(start, GRAIN_MONTHS[grain]) - timedelta(days=1)


def fiscal_year(day: date, fiscal_year_start_month: int = 1) -> int:
    """Fiscal years are named by the calendar year they end in."""
    return day.year + (1 if fiscal_year_start_month > 1 and day.month >= fiscal_year_start_month else 0)


def period_label(start: date, grain: str, fiscal_year_start_month: int = 1) -> str:
    if grain == "month":
        return start.strftime("%Y-%m")
    year = fiscal_year(start, fiscal_year_start_month)
    if grain == "year":
        return f"FY{year}"
    quarter = (start.month - fiscal_year_start_month) % 12 // 3 + 1
    return f"FY{year}-Q{quarter}"


@dataclass(frozen=True)
class _Context:
    grain: str
    as_of: date
    fiscal_year_start_month: int
    data_dir: Path

    @property
    def last_period(self) -> date:
        return period_start(self.as_of, self.grain, self.fiscal_year_start_month)

    @property
    def last_day(self) -> str:
        return period_end(self.last_period, self.grain).isoformat()

    def start_of(self, day: str) -> date:
        return period_start(date.fromisoformat(day), self.grain, self.fiscal_year_start_month)

    def periods_from(self, first_day: str) -> list[date]:
        periods, start = [], self.start_of(first_day)
        while start <= self.last_period:
            periods.append(start)
            start = _add_months(start, GRAIN_MONTHS[self.grain])
        return periods

    def effective_end(self, start: date) -> date:
        """The period's last day, or `as_of` for the running period."""
        return min(period_end(start, self.grain), self.as_of)

    def days(self, start: date) -> int:
        return (self.effective_end(start) - start).days + 1

    def is_complete(self, start: date) -> bool:
        return period_end(start, self.grain) <= self.as_of


# --------------------------------------------------------------------------------------------------
# components: value per (period_start, dimension_value), and the first day with data

Key = tuple[date, str]


@dataclass
class _Component:
    values: dict[Key, int | float]
    first_day: str | None
    per_period: bool = False  # a balance: defined for every period, not only where events are


def _aggregate(
    frame: pd.DataFrame, ctx: _Context, dimension: str, column: str, how: str = "sum"
) -> _Component:
    frame = frame[frame["day"] <= ctx.last_day]
    if frame.empty:
        return _Component({}, None)
    months = frame["day"].str[:7]
    starts = {m: ctx.start_of(m + "-01") for m in months.unique()}
    keys = pd.Series(["all"] * len(frame), index=frame.index) if dimension == "total" else frame[dimension]
    grouped = pd.DataFrame({"period": months.map(starts), "dim": keys, "v": frame[column]}).groupby(
        ["period", "dim"], dropna=True
    )["v"]
    result = grouped.nunique() if how == "nunique" else grouped.sum()
    values = {(p, d): (v.item() if hasattr(v, "item") else v) for (p, d), v in result.items()}
    return _Component(values, frame["day"].min())


def _balance(moves: pd.DataFrame, ctx: _Context, dimension: str, *, before_start: bool = False) -> _Component:
    """Cumulative cents at each period's end (or the day before its start), from the first movement;
    by a dimension of the movements (inventory by product_category), else the total."""
    moves = moves[moves["day"] <= ctx.as_of.isoformat()]
    if moves.empty:
        return _Component({}, None, per_period=True)
    if dimension == "total":
        groups = [("all", moves)]
    elif dimension in moves.columns:
        groups = list(moves.groupby(dimension))
    else:
        raise ValueError(f"the oracle computes these balances for the total only, not by {dimension}")
    values = {}
    for value, group in groups:
        days = group["day"].to_numpy()
        cents = group["cents"].to_numpy()
        for start in ctx.periods_from(group["day"].min()):
            cutoff = (start - timedelta(days=1)) if before_start else ctx.effective_end(start)
            values[(start, value)] = int(cents[days <= cutoff.isoformat()].sum())
    return _Component(values, moves["day"].min(), per_period=True)


def _overdue_balance(moves: pd.DataFrame, ctx: _Context, dimension: str) -> _Component:
    """Open receivables at the period end of invoices more than 30 days past due then."""
    _total_only(dimension)
    moves = moves[moves["day"] <= ctx.as_of.isoformat()]
    if moves.empty:
        return _Component({}, None, per_period=True)
    days, due, cents = moves["day"].to_numpy(), moves["due_date"].to_numpy(), moves["cents"].to_numpy()
    values = {}
    for start in ctx.periods_from(moves["day"].min()):
        end = ctx.effective_end(start)
        mask = (days <= end.isoformat()) & (due < (end - timedelta(days=30)).isoformat())
        values[(start, "all")] = int(cents[mask].sum())
    return _Component(values, moves["day"].min(), per_period=True)


def _total_only(dimension: str) -> None:
    if dimension != "total":
        raise ValueError(f"the oracle computes balances for the total only, not by {dimension}")


# --------------------------------------------------------------------------------------------------
# metrics


@dataclass(frozen=True)
class Metric:
    name: str
    kind: str
    dimensions: tuple[str, ...]
    components: Callable[[_Context, str], dict[str, _Component]]
    formula: Callable[[dict[str, int | float], _Context, date], object]


def _div(numerator, denominator):
    """numerator / denominator as a float from exact integers; None for a zero denominator."""
    if not denominator:
        return None
    return float(Decimal(numerator) / Decimal(denominator))


def _money(cents: int) -> Decimal:
    return Decimal(int(cents)).scaleb(-2)


CUSTOMER_DIMS = ("region", "customer_segment")
SALES_DIMS = (*CUSTOMER_DIMS, "product_category")
# a fact's own company and source (a metric over facts of two sources has no source_system slice)
OWN_SOURCE_DIMS = ("company_code", "source_system")


def _c(build, column, how="sum"):
    """A component from an event builder: the sum (or distinct count) of a column."""
    return lambda ctx, dim: _aggregate(build(ctx.data_dir, ctx.as_of), ctx, dim, column, how)


_revenue = _c(_revenue_events, "cents")
_cogs = _c(_invoice_line_events, "cogs_cents")
_opex = _c(_opex_events, "cents")
_gross_invoiced = _c(_invoice_line_events, "gross_cents")


def _ar_end(ctx, dim):
    return _balance(_ar_movements(ctx.data_dir), ctx, dim)


def _ap_end(ctx, dim):
    return _balance(_ap_movements(ctx.data_dir), ctx, dim)


def _inventory_end(ctx, dim):
    return _balance(_inventory_movements(ctx.data_dir), ctx, dim)


def _dso(v, ctx, start):
    ratio = _div(v["ar"], v["gross"])
    return None if ratio is None else ratio * ctx.days(start)


def _dpo(v, ctx, start):
    ratio = _div(v["ap"], v["cogs"])
    return None if ratio is None else ratio * ctx.days(start)


def _dio(v, ctx, start):
    ratio = _div(v["inventory"], v["cogs"])
    return None if ratio is None else ratio * ctx.days(start)


def _ccc(v, ctx, start):
    parts = [_dso(v, ctx, start), _dio(v, ctx, start), _dpo(v, ctx, start)]
    if any(p is None for p in parts):
        return None
    return parts[0] + parts[1] - parts[2]


def _mean(total_key: str, count_key: str):
    def formula(v, ctx, start):
        if not v[count_key]:
            return None
        return v[total_key] / v[count_key]

    return formula


def _components(**builders):
    return lambda ctx, dim: {name: build(ctx, dim) for name, build in builders.items()}


METRICS: dict[str, Metric] = {}


def _metric(name, kind, dimensions, components, formula):
    METRICS[name] = Metric(name, kind, tuple(dimensions), components, formula)


_metric("revenue", MONEY, SALES_DIMS, _components(revenue=_revenue), lambda v, c, s: _money(v["revenue"]))
_metric("cogs", MONEY, SALES_DIMS, _components(cogs=_cogs), lambda v, c, s: _money(v["cogs"]))
_metric(
    "gross_profit",
    MONEY,
    SALES_DIMS,
    _components(revenue=_revenue, cogs=_cogs),
    lambda v, c, s: _money(v["revenue"] - v["cogs"]),
)
_metric(
    "gross_margin_pct",
    RATIO,
    (),
    _components(revenue=_revenue, cogs=_cogs),
    lambda v, c, s: _div(v["revenue"] - v["cogs"], v["revenue"]),
)
_cogs_variances = _c(_cogs_variance_events, "cents")
_metric(
    "cogs_variances",
    MONEY,
    ("department",),
    _components(variances=_cogs_variances),
    lambda v, c, s: _money(v["variances"]),
)
_metric(
    "pnl_gross_margin_pct",
    RATIO,
    (),
    _components(revenue=_revenue, cogs=_cogs, variances=_cogs_variances),
    lambda v, c, s: _div(v["revenue"] - v["cogs"] - v["variances"], v["revenue"]),
)
_metric(
    "order_intake",
    MONEY,
    SALES_DIMS,
    _components(intake=_c(_order_line_events, "cents")),
    lambda v, c, s: _money(v["intake"]),
)
_metric(
    "orders_booked",
    COUNT,
    CUSTOMER_DIMS,
    _components(orders=_c(_order_line_events, "order_id", "nunique")),
    lambda v, c, s: Decimal(v["orders"]),
)
_metric(
    "average_order_value",
    RATIO,
    (),
    _components(intake=_c(_order_line_events, "cents"), orders=_c(_order_line_events, "order_id", "nunique")),
    lambda v, c, s: None if not v["orders"] else _div(v["intake"], v["orders"] * 100),
)
_metric(
    "operating_expense",
    MONEY,
    ("department",),
    _components(opex=_opex),
    lambda v, c, s: _money(v["opex"]),
)
_metric(
    "cost_ratio",
    RATIO,
    (),
    _components(revenue=_revenue, opex=_opex),
    lambda v, c, s: _div(v["opex"], v["revenue"]),
)
_metric(
    "operating_margin_pct",
    RATIO,
    (),
    _components(revenue=_revenue, cogs=_cogs, opex=_opex),
    lambda v, c, s: _div(v["revenue"] - v["cogs"] - v["opex"], v["revenue"]),
)
# revenue_growth_yoy is computed in reference_values (it needs the period a year earlier)
_metric("revenue_growth_yoy", RATIO, (), _components(revenue=_revenue), None)
_metric(
    "net_operating_cash_flow",
    MONEY,
    ("department",),
    _components(cash=_c(_operating_cash_events, "cents")),
    lambda v, c, s: _money(v["cash"]),
)
_metric("dso", RATIO, (), _components(ar=_ar_end, gross=_gross_invoiced), _dso)
_metric("dpo", RATIO, (), _components(ap=_ap_end, cogs=_cogs), _dpo)
_metric("dio", RATIO, (), _components(inventory=_inventory_end, cogs=_cogs), _dio)
_metric(
    "cash_conversion_cycle",
    RATIO,
    (),
    _components(ar=_ar_end, gross=_gross_invoiced, ap=_ap_end, inventory=_inventory_end, cogs=_cogs),
    _ccc,
)
# by product category: the finished-goods categories only (a raw-material category has no cogs;
# its rows are withheld, so the reference has none: keys come from cogs, not from the balances)
_metric(
    "inventory_turnover",
    RATIO,
    ("product_category",),
    _components(
        cogs=_cogs,
        inventory=_inventory_end,
        opening=lambda ctx, dim: _balance(_inventory_movements(ctx.data_dir), ctx, dim, before_start=True),
    ),
    lambda v, c, s: _div(2 * v["cogs"], v["opening"] + v["inventory"]),
)
_metric(
    "ar_collection_rate",
    RATIO,
    (),
    _components(
        collected=_c(_collection_events, "cents"),
        opening=lambda ctx, dim: _balance(_ar_movements(ctx.data_dir), ctx, dim, before_start=True),
        gross=_gross_invoiced,
    ),
    lambda v, c, s: _div(v["collected"], v["opening"] + v["gross"]),
)
_metric(
    "overdue_ar_ratio",
    RATIO,
    (),
    _components(
        overdue=lambda ctx, dim: _overdue_balance(_ar_movements(ctx.data_dir), ctx, dim),
        ar=_ar_end,
    ),
    lambda v, c, s: _div(v["overdue"], v["ar"]),
)
_metric(
    "unit_production_cost",
    RATIO,
    (),
    _components(cost=_c(_production_events, "cost_cents"), good=_c(_production_events, "good_milli")),
    # cents / thousandths of a unit -> EUR per unit: x 1000 / 100
    lambda v, c, s: _div(v["cost"] * 10, v["good"]),
)
_metric(
    "scrap_rate",
    RATIO,
    (),
    _components(scrap=_c(_production_events, "scrap_milli"), good=_c(_production_events, "good_milli")),
    lambda v, c, s: _div(v["scrap"], v["good"] + v["scrap"]),
)
_metric(
    "purchase_price_variance",
    MONEY,
    (),
    _components(ppv=_c(_receipt_events, "cents")),
    lambda v, c, s: _money(v["ppv"]),
)
_metric(
    "supplier_on_time_rate",
    RATIO,
    (),
    _components(
        on_time=_c(_supplier_punctuality_population, "on_time"),
        lines=_c(_supplier_punctuality_population, "one"),
    ),
    lambda v, c, s: _div(v["on_time"], v["lines"]),
)
_metric(
    "purchase_volume",
    MONEY,
    (),
    _components(volume=_c(_purchase_line_events, "cents")),
    lambda v, c, s: _money(v["volume"]),
)
_metric(
    "active_suppliers",
    COUNT,
    (),
    _components(suppliers=_c(_purchase_line_events, "supplier_id", "nunique")),
    lambda v, c, s: Decimal(v["suppliers"]),
)
_metric(
    "new_customers",
    COUNT,
    CUSTOMER_DIMS,
    _components(new=_c(_new_customer_events, "one")),
    lambda v, c, s: Decimal(v["new"]),
)
_metric(
    "active_customers",
    COUNT,
    CUSTOMER_DIMS,
    _components(active=_c(_invoice_line_events, "customer_id", "nunique")),
    lambda v, c, s: Decimal(v["active"]),
)
_metric(
    "repeat_purchase_rate",
    RATIO,
    (),
    _components(
        active=_c(_invoice_line_events, "customer_id", "nunique"), new=_c(_new_customer_events, "one")
    ),
    lambda v, c, s: _div(v["active"] - v["new"], v["active"]),
)
_metric(
    "win_rate",
    RATIO,
    OWN_SOURCE_DIMS,
    _components(won=_c(_opportunity_events, "won"), closed=_c(_opportunity_events, "one")),
    lambda v, c, s: _div(v["won"], v["closed"]),
)
_metric(
    "sales_cycle_days",
    RATIO,
    OWN_SOURCE_DIMS,
    _components(days=_c(_opportunity_events, "won_cycle_days"), won=_c(_opportunity_events, "won")),
    lambda v, c, s: _div(v["days"], v["won"]),
)
_metric(
    "on_time_delivery_rate",
    RATIO,
    ("region",),
    _components(on_time=_c(_delivery_population, "on_time"), lines=_c(_delivery_population, "one")),
    lambda v, c, s: _div(v["on_time"], v["lines"]),
)
_metric(
    "otif_rate",
    RATIO,
    (),
    _components(otif=_c(_delivery_population, "otif"), lines=_c(_delivery_population, "one")),
    lambda v, c, s: _div(v["otif"], v["lines"]),
)
_metric(
    "complaint_rate",
    RATIO,
    ("region", "company_code"),
    _components(complaints=_c(_case_events, "complaint"), delivered=_c(_delivered_line_events, "one")),
    lambda v, c, s: _div(100 * v["complaints"], v["delivered"]),
)
_metric(
    "avg_first_response_hours",
    RATIO,
    OWN_SOURCE_DIMS,
    _components(hours=_c(_case_events, "response_hours"), n=_c(_case_events, "responded")),
    _mean("hours", "n"),
)
_metric(
    "avg_resolution_hours",
    RATIO,
    OWN_SOURCE_DIMS,
    _components(hours=_c(_case_events, "resolution_hours"), n=_c(_case_events, "closed")),
    _mean("hours", "n"),
)
_metric(
    "open_cases",
    COUNT,
    OWN_SOURCE_DIMS,
    _components(open=_c(_case_events, "open")),
    lambda v, c, s: Decimal(v["open"]),
)

# sums over events: a quarter or year is the sum of its months, a slice total the sum of its values
ADDITIVE = (
    "revenue",
    "cogs",
    "gross_profit",
    "cogs_variances",
    "order_intake",
    "orders_booked",
    "operating_expense",
    "net_operating_cash_flow",
    "purchase_price_variance",
    "purchase_volume",
    "new_customers",
    "open_cases",
)


# --------------------------------------------------------------------------------------------------
# the interface


def reference_values(
    metric_name: str,
    grain: str,
    dimension: str = "total",
    *,
    as_of: date,
    fiscal_year_start_month: int = 1,
    data_dir: Path = SAMPLE_DIR,
) -> pd.DataFrame:
    """The metric per period (and dimension value), computed from the raw files.

    Columns: period_start (date), dimension_value (str, 'all' for the total), value (Decimal for
    money and counts, float for ratios, None where a denominator is zero). The total has a row for
    every period from the first one with data to the one containing `as_of`; a dimension slice has a
    row for every (period, value) with data.
    """
    if grain not in GRAINS:
        raise ValueError(f"unknown grain {grain!r}")
    if not 1 <= fiscal_year_start_month <= 12:
        raise ValueError("fiscal_year_start_month must be 1..12")
    metric = METRICS[metric_name]
    if dimension != "total" and dimension not in metric.dimensions:
        raise ValueError(f"the oracle has no reference for {metric_name} by {dimension}")
    ctx = _Context(grain, as_of, fiscal_year_start_month, Path(data_dir).resolve())
    components = metric.components(ctx, dimension)
    if metric_name == "revenue_growth_yoy":
        return _growth_yoy(components["revenue"], ctx)
    firsts = [c.first_day for c in components.values() if c.first_day is not None]
    if dimension == "total":
        keys = [(start, "all") for start in ctx.periods_from(min(firsts))] if firsts else []
    else:
        keys = sorted({k for c in components.values() if not c.per_period for k in c.values})
    rows = []
    for key in keys:
        values = {name: c.values.get(key, 0) for name, c in components.items()}
        rows.append((key[0], key[1], metric.formula(values, ctx, key[0])))
    return _frame(rows)


def _frame(rows: list[tuple]) -> pd.DataFrame:
    """The result frame; `value` stays an object column so None is None (not NaN)."""
    return pd.DataFrame(
        {
            "period_start": pd.Series([r[0] for r in rows], dtype=object),
            "dimension_value": pd.Series([r[1] for r in rows], dtype=object),
            "value": pd.Series([r[2] for r in rows], dtype=object),
        }
    )


def _growth_yoy(revenue: _Component, ctx: _Context) -> pd.DataFrame:
    rows = []
    if revenue.first_day is not None:
        for start in ctx.periods_from(revenue.first_day):
            earlier = date(start.year - 1, start.month, 1)
            base = revenue.values.get((earlier, "all"), 0)
            has_data = earlier >= ctx.start_of(revenue.first_day)
            value = None
            if ctx.is_complete(start) and has_data and base:
                value = float(Decimal(revenue.values.get((start, "all"), 0)) / Decimal(base) - 1)
            rows.append((start, "all", value))
    return _frame(rows)


def metric_kind(metric_name: str) -> str:
    return METRICS[metric_name].kind


def slices() -> list[tuple[str, str]]:
    """(metric, dimension) pairs the reference computes besides the total."""
    return [(name, dim) for name, metric in METRICS.items() for dim in metric.dimensions]


def is_complete(start: date, grain: str, as_of: date) -> bool:
    return period_end(start, grain) <= as_of


# --------------------------------------------------------------------------------------------------
# time per company: each company's data reaches its own as-of date

SAMPLE_COMPANY = "DE01"  # data/sample/erp/company_codes.csv: its data reaches the global as_of
SAP_COMPANY = sap_oracle.COMPANY_CODE
# the metrics this reference computes with the SAP orders added (_order_line_events,
# _purchase_line_events): the only ones the SAP company contributes to
SAP_FED_METRICS = frozenset(
    {"order_intake", "orders_booked", "average_order_value", "purchase_volume", "active_suppliers"}
)


def sap_as_of() -> date:
    """The SAP company's own as-of date: its latest sales order (HISTORY.CREATEDAT)."""
    days = sap_oracle.raw("salesOrder")["HISTORY.CREATEDAT"]
    return max(date.fromisoformat(d) for d in days if sap_oracle._valid_date(d))


def company_as_of(as_of: date) -> dict[str, date]:
    return {SAMPLE_COMPANY: as_of, SAP_COMPANY: min(sap_as_of(), as_of)}


def is_complete_for(
    metric: str, grain: str, start: date, dimension: str, value: str, as_of: date, sliced_by_company: bool
) -> bool:
    """is_complete as the README defines it per company: a slice of one company (company_code, or
    source_system, whose values are the companies' book-keeping sources) is complete when the
    period ends by that company's as-of date; any other row when it ends by the global `as_of` and
    no company contributing to it has data ending inside it. The SAP company contributes to the
    metrics fed by SAP orders; to a metric that cannot be sliced by company (`sliced_by_company`
    false) every company counts as contributing."""
    end = period_end(start, grain)
    own = company_as_of(as_of)
    by_source = {"erp": own[SAMPLE_COMPANY], "sap": own[SAP_COMPANY]}
    if dimension == "company_code" and value in own:
        return end <= own[value]
    if dimension == "source_system" and value in by_source:
        return end <= by_source[value]
    contributing = [
        company_end
        for company, company_end in own.items()
        if not sliced_by_company or company != SAP_COMPANY or metric in SAP_FED_METRICS
    ]
    return end <= as_of and not any(start <= company_end < end for company_end in contributing)


def _balance_at(moves: pd.DataFrame, day: date) -> Decimal:
    return _money(int(moves.loc[moves["day"] <= day.isoformat(), "cents"].sum()))


def receivables_at(day: date, data_dir: Path = SAMPLE_DIR) -> Decimal:
    """Open receivables in EUR at the end of `day` (per invoice at its invoice-date rate)."""
    return _balance_at(_ar_movements(Path(data_dir)), day)


def payables_at(day: date, data_dir: Path = SAMPLE_DIR) -> Decimal:
    return _balance_at(_ap_movements(Path(data_dir)), day)


def inventory_at(day: date, data_dir: Path = SAMPLE_DIR) -> Decimal:
    return _balance_at(_inventory_movements(Path(data_dir)), day)
