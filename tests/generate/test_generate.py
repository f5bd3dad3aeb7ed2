"""Tests of the sample-company generator, run against real files written to a temporary folder.

The sample is generated once per session (about a second); every test reads the CSVs with pandas as
text and re-derives the facts the metric layer relies on, independently of the generator's code.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import pandas as pd
import pytest

from finkpi.generate import write_sample, write_scaled
from finkpi.generate.writer import SAMPLE_SOURCES, columns

SAMPLE_TABLES = {name: source.table_names for name, source in SAMPLE_SOURCES.items()}

AS_OF = "2025-11-14"
START = "2023-01-01"


# --------------------------------------------------------------------------- fixtures and helpers


@pytest.fixture(scope="session")
def sample(tmp_path_factory) -> tuple[Path, dict[str, int]]:
    out = tmp_path_factory.mktemp("sample")
    counts = write_sample(out, seed=42)
    return out, counts


@pytest.fixture(scope="session")
def t(sample):
    """Lazy table reader: t('erp', 'invoices') -> DataFrame of strings ('' for empty cells)."""
    out, _ = sample
    cache: dict[tuple[str, str], pd.DataFrame] = {}

    def read(source: str, table: str) -> pd.DataFrame:
        if (source, table) not in cache:
            cache[(source, table)] = pd.read_csv(
                out / source / f"{table}.csv", dtype=str, keep_default_na=False, encoding="utf-8"
            )
        return cache[(source, table)]

    return read


def cents(s: pd.Series) -> np.ndarray:
    """'-1234.56' -> -123456 (exact; works for any fixed number of decimals)."""
    return s.str.replace(".", "", regex=False).astype("int64").to_numpy()


def rdiv(a, b: int) -> np.ndarray:
    a = np.asarray(a, dtype=np.int64)
    q = (np.abs(a) * 2 + b) // (2 * b)
    return np.where(a < 0, -q, q)


def rate_lookup(t) -> dict[tuple[str, str], int]:
    fx = t("erp", "exchange_rates")
    d = dict(zip(zip(fx.from_currency, fx.rate_date, strict=True), cents(fx.rate), strict=True))
    return d


def rates_for(t, cur: pd.Series, day: pd.Series) -> np.ndarray:
    d = rate_lookup(t)
    return np.array(
        [10**8 if c == "EUR" else d[(c, x)] for c, x in zip(cur, day, strict=True)], dtype=np.int64
    )


def month_ends() -> list[str]:
    ends = pd.date_range(START, AS_OF, freq="ME").strftime("%Y-%m-%d").tolist()
    return ends + [AS_OF]


def hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*.csv"))
    }


# --------------------------------------------------------------------------- files, columns, volume


def test_every_table_with_exact_columns(sample):
    out, counts = sample
    for source, tables in SAMPLE_TABLES.items():
        for table in tables:
            path = out / source / f"{table}.csv"
            raw = path.read_bytes()
            assert b"\r\n" not in raw, path
            raw.decode("utf-8")
            header = raw.split(b"\n", 1)[0].decode()
            assert header.split(",") == columns(source, table), path
            assert counts[f"{source}/{table}"] == raw.count(b"\n") - 1 > 0, path
    assert set(counts) == {f"{s}/{t}" for s in SAMPLE_TABLES for t in SAMPLE_TABLES[s]}


def test_volume_and_size(sample):
    out, counts = sample
    assert counts["erp/sales_order_lines"] >= 25_000
    total = sum(p.stat().st_size for p in out.rglob("*.csv"))
    assert total <= 15_000_000, f"{total / 1e6:.2f} MB"


def test_deterministic_per_seed(sample, tmp_path):
    out, _ = sample
    again = tmp_path / "again"
    other = tmp_path / "other"
    write_sample(again, seed=42)
    write_sample(other, seed=7)
    assert hashes(out) == hashes(again)
    h_other = hashes(other)
    assert h_other.keys() == hashes(out).keys()
    differing = [k for k in h_other if h_other[k] != hashes(out)[k]]
    assert "erp/sales_order_lines.csv" in differing and "crm/Case.csv" in differing


# --------------------------------------------------------------------------- master data


def test_company_and_master_data(t):
    cc = t("erp", "company_codes")
    assert cc.to_dict("records") == [
        {
            "company_code": "DE01",
            "company_name": "Finkpi Pumpen & Antriebe GmbH",
            "country": "DE",
            "local_currency": "EUR",
        }
    ]
    centers = t("erp", "cost_centers")
    assert set(centers.department) == {
        "Sales",
        "Procurement",
        "Production",
        "Logistics",
        "Customer Service",
        "Finance",
    }
    assert centers.cost_center_id.is_unique
    acc = t("erp", "gl_accounts").set_index("account_id")
    expect = {
        "1000": "cash",
        "1200": "receivables",
        "1300": "inventory",
        "1310": "inventory",
        "1400": "tax",
        "2000": "payables",
        "2200": "tax",
        "4000": "revenue",
        "4100": "revenue",
        "5000": "cogs",
        "5100": "cogs",
        "5200": "cogs",
        "5300": "cogs",
        "6000": "opex",
        "7000": "other_income",
        "0400": "fixed_assets",
        "2500": "loans",
        "3000": "equity",
    }
    for a, g in expect.items():
        assert acc.loc[a, "account_group"] == g, a
    assert acc.loc["0400", "cash_flow_category"] == "investing"
    assert acc.loc["2500", "cash_flow_category"] == "financing"
    assert acc.loc["1200", "cash_flow_category"] == "operating"
    assert set(acc.index[acc.is_control_account == "true"]) == {"1200", "1300", "1310", "2000"}
    cust = t("erp", "customers")
    assert len(cust) >= 500 and cust.customer_id.str.fullmatch(r"C\d{6}").all()
    assert set(cust.region) == {"DACH", "Western Europe", "Nordics", "North America", "Asia-Pacific"}
    cur = dict(zip(cust.region, cust.currency, strict=True))
    assert all((cust.currency == "EUR")[cust.region.isin(["DACH", "Western Europe", "Nordics"])])
    assert all((cust.currency == "USD")[cust.region == "North America"])
    assert all((cust.currency == "CNY")[cust.region == "Asia-Pacific"]) and cur
    assert set(cust.segment) == {"Enterprise", "Mid-Market", "Small Business"}
    prod = t("erp", "products")
    fg = prod[prod.product_type == "finished"]
    assert set(fg.category) == {"Pumps", "Valves", "Motors", "Controls"}
    assert (fg.list_price_eur != "").all() and (
        prod[prod.product_type == "material"].list_price_eur == ""
    ).all()
    sup = t("erp", "suppliers")
    assert 35 <= len(sup) <= 45 and {"EUR", "USD", "CNY"} <= set(sup.currency)


def test_exchange_rates_every_day(t):
    fx = t("erp", "exchange_rates")
    days = pd.date_range(START, AS_OF).strftime("%Y-%m-%d")
    for c in ("USD", "CNY"):
        sub = fx[fx.from_currency == c]
        assert list(sub.rate_date) == list(days)
        assert sub.rate.str.fullmatch(r"\d\.\d{8}").all()
    assert (fx.to_currency == "EUR").all()


def test_standard_costs_contiguous(t):
    sc = t("erp", "product_standard_costs")
    assert set(sc.product_id) == set(t("erp", "products").product_id)
    for _pid, g in sc.groupby("product_id"):
        assert g.valid_from.iloc[0] == START and g.valid_to.iloc[-1] == "9999-12-31"
        assert list(g.valid_from.iloc[1:]) == list(g.valid_to.iloc[:-1])


def test_nothing_after_as_of(t):
    dated = {
        "sales_orders": ["order_date"],
        "deliveries": ["actual_date"],
        "invoices": ["invoice_date"],
        "credit_notes": ["credit_date"],
        "customer_payments": ["payment_date"],
        "write_offs": ["write_off_date"],
        "purchase_orders": ["order_date"],
        "goods_receipts": ["receipt_date"],
        "supplier_invoices": ["invoice_date"],
        "supplier_payments": ["payment_date"],
        "inventory_movements": ["movement_date"],
        "production_orders": ["start_date", "finish_date"],
        "gl_journal_entries": ["posting_date"],
    }
    for table, cols in dated.items():
        df = t("erp", table)
        for c in cols:
            assert df[c].min() >= START and df[c].max() <= AS_OF, (table, c)


# --------------------------------------------------------------------------- order to cash


def test_orders_deliveries_invoices_consistent(t):
    so = t("erp", "sales_orders")
    sol = t("erp", "sales_order_lines")
    dl = t("erp", "deliveries")
    inv = t("erp", "invoices")
    il = t("erp", "invoice_lines")
    assert sol.groupby("order_id").size().between(1, 6).all()
    share = so.status.value_counts(normalize=True)
    assert 0.02 <= share["cancelled"] <= 0.045
    delivered = set(so.order_id[so.status == "delivered"])
    assert set(dl.order_id) == delivered == set(inv.order_id)
    # one delivery per order, all lines shipped on one date
    assert dl.groupby("order_id").delivery_id.nunique().eq(1).all()
    assert dl.groupby("delivery_id").actual_date.nunique().eq(1).all()
    qo, qs = cents(dl.quantity_ordered), cents(dl.quantity_shipped)
    assert (qs <= qo).all() and (qs > 0).all() and 0.01 < (qs < qo).mean() < 0.15
    # late orders still open at the end
    open_late = so[(so.status == "open")].merge(sol[sol.line_number == "1"], on="order_id")
    assert (open_late.promised_date < AS_OF).sum() >= 1
    # line net amount = quantity x unit_price x (1 - discount), rounded half up
    net = rdiv(cents(sol.quantity) * cents(sol.unit_price) * (10000 - cents(sol.discount_pct)), 10**9)
    assert (net == cents(sol.net_amount)).all()
    # invoices: one per delivery, on the delivery date, lines = shipped quantities
    assert inv.delivery_id.is_unique and len(inv) == dl.delivery_id.nunique()
    d1 = dl.drop_duplicates("delivery_id").set_index("delivery_id")
    assert (inv.invoice_date.to_numpy() == d1.loc[inv.delivery_id, "actual_date"].to_numpy()).all()
    m = il.merge(dl, on=["order_id", "order_line_number"])
    assert len(m) == len(il) == len(dl)
    assert (m.quantity == m.quantity_shipped).all()
    assert (rdiv(cents(il.quantity) * cents(il.unit_price), 10**5) == cents(il.net_amount)).all()
    assert (rdiv(cents(il.net_amount) * cents(il.tax_rate), 10**4) == cents(il.tax_amount)).all()
    sums = il.assign(n=cents(il.net_amount), x=cents(il.tax_amount)).groupby("invoice_id")[["n", "x"]].sum()
    i2 = inv.set_index("invoice_id")
    assert (sums.n == cents(i2.loc[sums.index, "net_amount"])).all()
    assert (sums.x == cents(i2.loc[sums.index, "tax_amount"])).all()
    assert (cents(inv.net_amount) + cents(inv.tax_amount) == cents(inv.gross_amount)).all()
    # VAT by country
    cust = t("erp", "customers").set_index("customer_id")
    rate = il.merge(inv[["invoice_id", "customer_id"]], on="invoice_id")
    rate["country"] = cust.loc[rate.customer_id, "country"].to_numpy()
    by = rate.groupby("country").tax_rate.unique()
    assert list(by["DE"]) == ["0.1900"] and list(by["FR"]) == ["0.2000"] and list(by["US"]) == ["0.0000"]
    # promised date = order date + a lead time
    lines = sol.merge(so, on="order_id")
    lead = (pd.to_datetime(lines.promised_date) - pd.to_datetime(lines.order_date)).dt.days
    assert (lead >= 5).all()


def test_settlements_never_exceed_gross(t):
    inv = t("erp", "invoices").set_index("invoice_id")
    cn = t("erp", "credit_notes")
    pay = t("erp", "customer_payments")
    wo = t("erp", "write_offs")
    assert 0.015 <= len(cn) / len(inv) <= 0.045
    assert (cents(cn.net_amount) > 0).all()
    assert (cents(cn.net_amount) + cents(cn.tax_amount) == cents(cn.gross_amount)).all()
    settled = (
        pd.concat(
            [
                pd.Series(cents(cn.gross_amount), index=cn.invoice_id),
                pd.Series(cents(pay.amount), index=pay.invoice_id),
                pd.Series(cents(wo.amount), index=wo.invoice_id),
            ]
        )
        .groupby(level=0)
        .sum()
    )
    gross = pd.Series(cents(inv.gross_amount), index=inv.index)
    assert (settled <= gross.loc[settled.index]).all()
    open_ = gross.sub(settled, fill_value=0)
    assert (open_ > 0).sum() > 50  # some invoices are open at the end
    assert (open_ == 0).mean() > 0.85  # most invoices are settled in full
    assert len(wo) > 5 and (cents(wo.amount) > 0).all()
    # partial payment + write-off on some invoices
    assert len(set(wo.invoice_id) & set(pay.invoice_id)) >= 1
    # credit notes and payments only after the invoice
    for df, col in ((cn, "credit_date"), (pay, "payment_date"), (wo, "write_off_date")):
        assert (df[col].to_numpy() >= inv.loc[df.invoice_id, "invoice_date"].to_numpy()).all()
    late_pay = pay.merge(inv[["due_date"]], left_on="invoice_id", right_index=True)
    assert (late_pay.payment_date > late_pay.due_date).mean() > 0.1


# --------------------------------------------------------------------------- procure to pay


def test_procurement(t):
    po = t("erp", "purchase_orders")
    pol = t("erp", "purchase_order_lines")
    gr = t("erp", "goods_receipts")
    si = t("erp", "supplier_invoices")
    sp = t("erp", "supplier_payments")
    share = po.status.isin(["cancelled", "rejected"]).mean()
    assert 0.02 <= share <= 0.07
    assert set(po.status) == {"open", "received", "cancelled", "rejected"}
    assert set(gr.po_id) == set(po.po_id[po.status == "received"])
    assert (rdiv(cents(pol.quantity) * cents(pol.unit_price), 10**5) == cents(pol.net_amount)).all()
    # one supplier invoice per receipt, on the receipt date, net = received qty x PO price
    assert si.receipt_id.is_unique and set(si.receipt_id) == set(gr.receipt_id)
    g = gr.merge(
        pol, left_on=["po_id", "po_line_number"], right_on=["po_id", "line_number"], suffixes=("", "_po")
    )
    g["net"] = rdiv(cents(g.quantity) * cents(g.unit_price), 10**5)
    net = g.groupby("receipt_id").agg(net=("net", "sum"), day=("receipt_date", "first"))
    s2 = si.set_index("receipt_id").loc[net.index]
    assert (cents(s2.net_amount) == net.net.to_numpy()).all()
    assert (s2.invoice_date.to_numpy() == net.day.to_numpy()).all()
    assert (cents(si.net_amount) + cents(si.tax_amount) == cents(si.gross_amount)).all()
    assert len(sp) < len(si)  # some supplier invoices are open at the end
    sp_m = sp.merge(si, on="supplier_invoice_id")
    assert (sp_m.amount == sp_m.gross_amount).all()
    late = (gr.receipt_date > gr.promised_date).mean()
    assert 0.03 < late < 0.4


def test_production_and_costs(t):
    pr = t("erp", "production_orders")
    assert (cents(pr.actual_quantity) == cents(pr.good_quantity) + cents(pr.scrapped_quantity)).all()
    assert (pr.start_date <= pr.finish_date).all()
    mv = t("erp", "inventory_movements")
    cons = mv[mv.movement_type == "production_consumption"].assign(v=lambda d: -cents(d.value_eur))
    cons_by = cons.groupby("reference_id").v.sum()
    cost = pd.Series(cents(pr.actual_cost_eur), index=pr.production_order_id)
    assert (cost.loc[cons_by.index] > cons_by).all()  # materials at standard + conversion cost


def test_inventory_movements(t):
    mv = t("erp", "inventory_movements")
    sc = t("erp", "product_standard_costs")
    q = cents(mv.quantity)
    assert (q[mv.movement_type.isin(["goods_receipt", "production_output"])] > 0).all()
    assert (q[mv.movement_type.isin(["production_consumption", "sales_issue"])] < 0).all()
    assert (q[mv.movement_type == "revaluation"] == 0).all()
    # value = quantity x standard cost valid on the movement date
    m = mv[mv.movement_type != "revaluation"].merge(sc, on="product_id")
    m = m[(m.valid_from <= m.movement_date) & (m.movement_date < m.valid_to)]
    assert len(m) == (mv.movement_type != "revaluation").sum()
    assert (rdiv(cents(m.quantity) * cents(m.standard_cost_eur), 10**5) == cents(m.value_eur)).all()
    # stock never negative (end of every day, per product)
    daily = mv.assign(q=q).groupby(["product_id", "movement_date"]).q.sum().groupby(level=0).cumsum()
    assert (daily >= 0).all()
    # sales issues = shipped quantities
    dl = t("erp", "deliveries")
    issues = mv[mv.movement_type == "sales_issue"]
    assert -cents(issues.quantity).sum() == cents(dl.quantity_shipped).sum()
    # revaluation = on-hand before the change day x (new - old standard cost)
    rv = mv[mv.movement_type == "revaluation"].iloc[0]
    before = mv[(mv.product_id == rv.product_id) & (mv.movement_date < rv.movement_date)]
    onhand = cents(before.quantity).sum()
    c = sc[sc.product_id == rv.product_id].set_index("valid_from").standard_cost_eur
    new, old = cents(c.loc[[rv.movement_date]])[0], cents(c[c.index < rv.movement_date].iloc[[-1]])[0]
    assert rdiv(onhand * (new - old), 10**5) == cents(pd.Series([rv.value_eur]))[0]


# --------------------------------------------------------------------------- general ledger


@pytest.fixture(scope="session")
def gl(t):
    g = t("erp", "gl_journal_entries").copy()
    g["a"] = cents(g.amount)
    g["e"] = cents(g.amount_eur)
    return g


def test_every_entry_balances(gl):
    sums = gl.groupby("entry_id")[["a", "e"]].sum()
    assert (sums.e == 0).all()
    single = gl.groupby("entry_id").currency.nunique() == 1
    assert (sums.a[single] == 0).all()
    assert gl.groupby("entry_id").posting_date.nunique().eq(1).all()
    assert gl.groupby("entry_id").document_id.nunique().eq(1).all()


def test_gl_documents_and_cost_centers(gl, t):
    acc = t("erp", "gl_accounts").set_index("account_id")
    kind = acc.loc[gl.account_id, "account_type"].to_numpy()
    bs = np.isin(kind, ["asset", "liability", "equity"])
    assert (gl.cost_center_id[bs] == "").all()
    assert (gl.cost_center_id[~bs] != "").all()
    one = gl.drop_duplicates("entry_id")
    for dtype, table, col in (
        ("invoice", "invoices", "invoice_id"),
        ("credit_note", "credit_notes", "credit_note_id"),
        ("customer_payment", "customer_payments", "payment_id"),
        ("write_off", "write_offs", "write_off_id"),
        ("supplier_invoice", "supplier_invoices", "supplier_invoice_id"),
        ("supplier_payment", "supplier_payments", "payment_id"),
        ("production", "production_orders", "production_order_id"),
    ):
        docs = one.document_id[one.document_type == dtype]
        assert docs.is_unique and set(docs) == set(t("erp", table)[col]), dtype
    # investing and financing cash movements exist next to operating ones
    cash_entries = set(gl.entry_id[acc.loc[gl.account_id, "account_group"].to_numpy() == "cash"])
    other = gl[
        gl.entry_id.isin(cash_entries) & (acc.loc[gl.account_id, "account_group"].to_numpy() != "cash")
    ]
    cats = set(acc.loc[other.account_id, "cash_flow_category"])
    assert cats == {"operating", "investing", "financing"}
    # opex by department and month, scaling with activity
    cc = t("erp", "cost_centers").set_index("cost_center_id")
    opex = gl[acc.loc[gl.account_id, "account_group"].to_numpy() == "opex"]
    assert set(cc.loc[opex.cost_center_id, "department"]) == {
        "Sales",
        "Procurement",
        "Logistics",
        "Customer Service",
        "Finance",
        "Production",
    }
    # revenue matches invoices net of credit notes (EUR, sign-flipped)
    rev = -gl.e[gl.account_id == "4000"].sum()
    assert rev > 0


def _gl_balance(gl, accounts, day):
    return int(gl.e[gl.account_id.isin(accounts) & (gl.posting_date <= day)].sum())


def test_receivables_reconcile_every_month_end(gl, t):
    inv = t("erp", "invoices")
    r = pd.Series(rates_for(t, inv.currency, inv.invoice_date), index=inv.invoice_id)
    gross = pd.Series(cents(inv.gross_amount), index=inv.invoice_id)
    ev = pd.concat(
        [
            t("erp", "credit_notes").rename(columns={"credit_date": "d", "gross_amount": "x"})[
                ["invoice_id", "d", "x"]
            ],
            t("erp", "customer_payments").rename(columns={"payment_date": "d", "amount": "x"})[
                ["invoice_id", "d", "x"]
            ],
            t("erp", "write_offs").rename(columns={"write_off_date": "d", "amount": "x"})[
                ["invoice_id", "d", "x"]
            ],
        ]
    )
    ev["x"] = cents(ev.x)
    for me in month_ends():
        ids = inv.invoice_id[inv.invoice_date <= me]
        paid = ev[ev.d <= me].groupby("invoice_id").x.sum().reindex(ids, fill_value=0)
        open_ = gross.loc[ids] - paid
        expected = int(rdiv(open_.to_numpy() * r.loc[ids].to_numpy(), 10**8).sum())
        assert _gl_balance(gl, ["1200"], me) == expected, me


def test_payables_reconcile_every_month_end(gl, t):
    si = t("erp", "supplier_invoices")
    sp = t("erp", "supplier_payments")
    r = pd.Series(rates_for(t, si.currency, si.invoice_date), index=si.supplier_invoice_id)
    gross = pd.Series(cents(si.gross_amount), index=si.supplier_invoice_id)
    sp = sp.assign(x=cents(sp.amount))
    for me in month_ends():
        ids = si.supplier_invoice_id[si.invoice_date <= me]
        paid = sp[sp.payment_date <= me].groupby("supplier_invoice_id").x.sum().reindex(ids, fill_value=0)
        expected = int(rdiv((gross.loc[ids] - paid).to_numpy() * r.loc[ids].to_numpy(), 10**8).sum())
        assert -_gl_balance(gl, ["2000"], me) == expected, me


def test_inventory_reconciles_every_month_end(gl, t):
    mv = t("erp", "inventory_movements")
    mv = mv.assign(v=cents(mv.value_eur), fg=mv.product_id.str.startswith("FG"))
    for me in month_ends():
        upto = mv[mv.movement_date <= me]
        assert _gl_balance(gl, ["1300"], me) == int(upto.v[upto.fg].sum()), me
        assert _gl_balance(gl, ["1310"], me) == int(upto.v[~upto.fg].sum()), me


def test_invoice_and_cogs_postings(gl, t):
    inv = t("erp", "invoices")
    r = rates_for(t, inv.currency, inv.invoice_date)
    ar = gl[(gl.document_type == "invoice") & (gl.account_id == "1200")].set_index("document_id")
    assert (ar.e.loc[inv.invoice_id].to_numpy() == rdiv(cents(inv.gross_amount) * r, 10**8)).all()
    cogs = gl[(gl.document_type == "sales_issue") & (gl.account_id == "5000")].e.sum()
    mv = t("erp", "inventory_movements")
    assert cogs == -cents(mv.value_eur[mv.movement_type == "sales_issue"]).sum()


# --------------------------------------------------------------------------- CRM


def _norm_name(s: str) -> str:
    return re.sub(r"[^a-z0-9]", "", s.lower())


def _norm_no(s: str) -> str:
    return re.sub(r"[^0-9]", "", s).lstrip("0")


def test_crm_ids_and_accounts(t):
    acc = t("crm", "Account")
    cust = t("erp", "customers")
    for obj in ("Account", "Contact", "Lead", "Opportunity", "Case"):
        ids = t("crm", obj).Id
        assert ids.str.fullmatch(r"[0-9A-Za-z]{18}").all() and ids.is_unique, obj
    assert acc.Id.str[:3].eq("001").all()
    cu = acc[acc.Type != "Prospect"]
    erp = cu.ERP_Customer_Number__c
    exact = erp.isin(set(cust.customer_id))
    empty = erp == ""
    assert 0.6 < exact.mean() < 0.8 and 0.08 < empty.mean() < 0.22 and 0.08 < (~exact & ~empty).mean() < 0.22
    # written differently: still the same number once normalized
    by_no = {_norm_no(c): c for c in cust.customer_id}
    variants = erp[~exact & ~empty]
    assert variants.map(lambda s: _norm_no(s) in by_no).all()
    # empty number: exactly one ERP customer with the same normalized name
    by_name = {}
    for cid, nm in zip(cust.customer_id, cust.customer_name, strict=True):
        by_name.setdefault(_norm_name(nm), []).append(cid)
    assert all(len(v) == 1 for v in by_name.values())
    assert cu.Name[empty].map(lambda s: len(by_name.get(_norm_name(s), [])) == 1).all()
    assert (~cu.Name[empty].isin(set(cust.customer_name))).mean() > 0.4  # matching needs normalizing
    # prospects have no ERP customer, not even by name
    pro = acc[acc.Type == "Prospect"]
    assert len(pro) > 50 and (pro.ERP_Customer_Number__c == "").all()
    assert not pro.Name.map(lambda s: _norm_name(s) in by_name).any()
    assert len(cu) >= 0.9 * len(cust)


def test_crm_contacts_leads_opportunities(t):
    acc = t("crm", "Account")
    ct = t("crm", "Contact")
    assert ct.groupby("AccountId").size().between(1, 3).all() and set(ct.AccountId) == set(acc.Id)
    assert ct.Email.str.fullmatch(r"[a-z0-9.]+@[a-z0-9]+\.example\.com").all()
    lead = t("crm", "Lead")
    assert 1800 <= len(lead) <= 2200
    assert ((lead.Status == "Converted") == (lead.IsConverted == "true")).all()
    assert ((lead.ConvertedAccountId != "") == (lead.IsConverted == "true")).all()
    assert set(lead.ConvertedAccountId[lead.ConvertedAccountId != ""]) <= set(acc.Id)
    opp = t("crm", "Opportunity")
    assert 3000 <= len(opp) <= 5000
    closed = opp.StageName.isin(["Closed Won", "Closed Lost"])
    assert ((opp.IsClosed == "true") == closed).all()
    assert ((opp.IsWon == "true") == (opp.StageName == "Closed Won")).all()
    prob = {
        "Prospecting": "10.00",
        "Qualification": "20.00",
        "Proposal": "50.00",
        "Negotiation": "75.00",
        "Closed Won": "100.00",
        "Closed Lost": "0.00",
    }
    assert (opp.Probability == opp.StageName.map(prob)).all()
    assert (opp.CreatedDate.str[:10] < opp.CloseDate).all()
    assert (opp.CloseDate[closed] <= AS_OF).all() and (~closed).sum() > 100
    assert (opp.CreatedDate.str[:10] <= AS_OF).all()
    # won opportunities turn into orders of the same customer shortly after closing
    won = opp[opp.StageName == "Closed Won"]
    won = won.merge(acc[["Id", "ERP_Customer_Number__c"]], left_on="AccountId", right_on="Id")
    won = won[won.ERP_Customer_Number__c.str.fullmatch(r"C\d{6}")]
    so = t("erp", "sales_orders")
    m = won.merge(so, left_on="ERP_Customer_Number__c", right_on="customer_id")
    d = (pd.to_datetime(m.order_date) - pd.to_datetime(m.CloseDate)).dt.days
    hit = m[(d >= 0) & (d <= 10)].Id_x.nunique()
    assert hit >= 0.95 * len(won)


def test_crm_case_timestamps(t):
    cs = t("crm", "Case")
    assert set(cs.TimeZoneSidKey) == {"Europe/Berlin", "America/New_York", "Asia/Shanghai"}
    pat = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}"
    assert cs.CreatedDate.str.fullmatch(pat).all()
    # the printed offset is the zone's offset at that instant (DST-aware)
    seen = set()
    for col in ("CreatedDate", "First_Response_Date__c", "ClosedDate"):
        for zone, s in zip(cs.TimeZoneSidKey, cs[col], strict=True):
            if not s:
                continue
            x = dt.datetime.fromisoformat(s)
            assert x.astimezone(ZoneInfo(zone)).utcoffset() == x.utcoffset(), (zone, s)
            assert x.astimezone(ZoneInfo(zone)).date().isoformat() <= AS_OF
            seen.add((zone, x.utcoffset()))
    assert len(seen) == 5  # Berlin and New York both in summer and winter time, Shanghai
    c = cs.CreatedDate.map(dt.datetime.fromisoformat)
    f = cs.First_Response_Date__c.map(lambda s: dt.datetime.fromisoformat(s) if s else None)
    z = cs.ClosedDate.map(lambda s: dt.datetime.fromisoformat(s) if s else None)
    has_f, has_z = f.notna(), z.notna()
    assert (f[has_f] > c[has_f]).all() and (z[has_z] > f[has_z]).all()
    assert not (has_z & ~has_f).any()
    assert (cs.Status[has_z] == "Closed").all() and (cs.Status[~has_f] == "New").all()
    assert (~has_z).sum() >= 1
    # every CRM timestamp: ISO-8601 with an offset that exists in the record's zone, never after AS_OF
    zone_of_country = {
        "United States": "America/New_York",
        "Canada": "America/New_York",
        "China": "Asia/Shanghai",
        "Japan": "Asia/Shanghai",
        "Singapore": "Asia/Shanghai",
        "Australia": "Asia/Shanghai",
    }
    acc = t("crm", "Account")
    acc_zone = dict(
        zip(acc.Id, acc.BillingCountry.map(lambda c: zone_of_country.get(c, "Europe/Berlin")), strict=True)
    )
    for obj, zones in (
        ("Account", acc.Id.map(acc_zone)),
        ("Contact", t("crm", "Contact").AccountId.map(acc_zone)),
        ("Opportunity", t("crm", "Opportunity").AccountId.map(acc_zone)),
        ("Lead", None),
    ):
        df = t("crm", obj)
        assert df.CreatedDate.str.fullmatch(pat).all(), obj
        for i, s in enumerate(df.CreatedDate):
            x = dt.datetime.fromisoformat(s)
            if zones is not None:
                assert x.astimezone(ZoneInfo(zones.iloc[i])).utcoffset() == x.utcoffset(), (obj, s)
            assert s[:10] <= AS_OF, (obj, s)
    orders = set(t("erp", "sales_orders").order_id)
    assert set(cs.ERP_Order_Number__c[cs.ERP_Order_Number__c != ""]) <= orders


# --------------------------------------------------------------------------- cause and effect


def _lateness(t):
    so = t("erp", "sales_orders")
    dl = t("erp", "deliveries").drop_duplicates("order_id")
    d = dl.merge(so, on="order_id")
    d["late"] = d.actual_date > d.promised_date
    return d


def test_late_deliveries_raise_complaints(t):
    d = _lateness(t)
    cs = t("crm", "Case")
    comp = set(cs.ERP_Order_Number__c[(cs.Type == "Complaint") & (cs.Reason == "Late delivery")])
    d["complaint"] = d.order_id.isin(comp)
    rate = d.groupby("late").complaint.mean()
    assert 0.27 <= rate[True] <= 0.42 and rate[False] <= 0.05


def test_shock_2024_q3(t):
    d = _lateness(t)
    q = pd.PeriodIndex(d.actual_date, freq="Q").astype(str)
    late = d.groupby(q).late.mean()
    assert late["2024Q3"] > 2 * late["2023Q3"] and late["2024Q3"] > 2 * late["2024Q1"]
    # the main CNY supplier delivers late, its prices go up ~15%
    gr = t("erp", "goods_receipts").merge(t("erp", "purchase_orders"), on="po_id")
    main = gr[gr.supplier_id == "S00001"]
    qm = pd.PeriodIndex(main.receipt_date, freq="Q").astype(str)
    sl = (main.receipt_date > main.promised_date).groupby(qm).mean()
    assert sl["2024Q3"] > 0.5 and sl["2024Q3"] > 2 * sl["2023Q3"]
    pol = t("erp", "purchase_order_lines").merge(t("erp", "purchase_orders"), on="po_id")
    pm = pol[pol.supplier_id == "S00001"].assign(p=lambda x: cents(x.unit_price))
    before = (
        pm[(pm.order_date >= "2024-04-01") & (pm.order_date < "2024-06-30")].groupby("product_id").p.mean()
    )
    after = (
        pm[(pm.order_date >= "2024-07-01") & (pm.order_date < "2024-09-30")].groupby("product_id").p.mean()
    )
    up = (after / before).dropna()
    assert 1.10 < up.median() < 1.25
    # scrap rises, production takes longer
    pr = t("erp", "production_orders")
    pq = pd.PeriodIndex(pr.finish_date, freq="Q").astype(str)
    scrap = pd.Series(cents(pr.scrapped_quantity) / cents(pr.actual_quantity)).groupby(pq.to_numpy()).mean()
    assert scrap["2024Q3"] > 1.8 * scrap["2023Q3"]
    dur = (
        (pd.to_datetime(pr.finish_date) - pd.to_datetime(pr.start_date)).dt.days.groupby(pq.to_numpy()).mean()
    )
    assert dur["2024Q3"] > 1.5 * dur["2023Q3"]
    # complaints spike
    cs = t("crm", "Case")
    cq = pd.PeriodIndex(cs.CreatedDate.str[:10], freq="Q").astype(str)
    comp = (cs.Reason == "Late delivery").groupby(cq.to_numpy()).sum()
    assert comp["2024Q3"] > 2 * comp["2024Q1"]


def test_late_customers_buy_less_afterwards(t):
    d = _lateness(t)
    so = t("erp", "sales_orders")
    # per delivery: does the customer order again within 120 days?
    orders = so[so.status != "cancelled"]
    days = pd.to_datetime(orders.order_date).to_numpy().astype("datetime64[D]").astype(np.int64)
    by_cust = pd.Series(days).groupby(orders.customer_id.to_numpy()).apply(np.sort)
    dd = d[d.actual_date <= "2025-07-01"]
    ship = pd.to_datetime(dd.actual_date).to_numpy().astype("datetime64[D]").astype(np.int64)
    repeat = []
    for c, x in zip(dd.customer_id, ship, strict=True):
        a = by_cust[c]
        k = np.searchsorted(a, x, side="right")
        repeat.append(k < len(a) and a[k] - x <= 120)
    p = pd.Series(repeat, index=dd.index).groupby(dd.late.to_numpy()).mean()
    assert p[True] < p[False] - 0.05
    # cohort: customers with a late delivery in 2024-Q3 vs customers served on time then
    hit = set(d.customer_id[d.late & (d.actual_date >= "2024-07-01") & (d.actual_date < "2024-10-01")])
    served = set(d.customer_id[(d.actual_date >= "2024-07-01") & (d.actual_date < "2024-10-01")])
    before = (
        so[(so.order_date >= "2024-01-01") & (so.order_date < "2024-07-01")].groupby("customer_id").size()
    )
    after = so[(so.order_date >= "2024-10-01") & (so.order_date < "2025-04-01")].groupby("customer_id").size()
    ratio = after.reindex(before.index, fill_value=0) / before
    assert ratio[ratio.index.isin(hit)].mean() < 0.9 * ratio[ratio.index.isin(served - hit)].mean()
    # company-wide order intake falls year over year in the quarter after the shock
    q = pd.PeriodIndex(so.order_date, freq="Q").astype(str)
    n = so.groupby(q.to_numpy()).size()
    assert n["2024Q4"] / n["2023Q4"] < n["2024Q2"] / n["2023Q2"]


def test_supplier_prices_drive_standard_costs(t):
    sc = t("erp", "product_standard_costs")
    prod = t("erp", "products")
    sc = sc.merge(prod, on="product_id")
    cast = sc[sc.category == "Castings"].assign(c=lambda x: cents(x.standard_cost_eur))
    q3, q4 = cast[cast.valid_from == "2024-07-01"], cast[cast.valid_from == "2024-10-01"]
    rise = q4.set_index("product_id").c / q3.set_index("product_id").c
    assert rise.max() > 1.1
    fg = sc[sc.product_type == "finished"].assign(c=lambda x: cents(x.standard_cost_eur))
    first = fg[fg.valid_from == START].set_index("product_id").c
    last = fg[fg.valid_to == "9999-12-31"].set_index("product_id").c
    assert (last / first).median() > 1.03


def test_seasonality(t):
    so = t("erp", "sales_orders")
    m = so.order_date.str[5:7].value_counts()
    assert m["04"] > 1.3 * m["12"] and m["04"] > m["08"]


# --------------------------------------------------------------------------- scale


def test_write_scaled_small(sample, tmp_path):
    _, base = sample
    seen = []
    out = tmp_path / "scaled"
    counts = write_scaled(out, scale=2, seed=42, progress=lambda d, n: seen.append((d, n)))
    assert seen == [(1, 2), (2, 2)]
    con = duckdb.connect()
    for source, tables in SAMPLE_TABLES.items():
        for table in tables:
            path = out / source / f"{table}.parquet"
            desc = con.execute(f"DESCRIBE SELECT * FROM '{path}'").fetchall()
            assert [r[0] for r in desc] == columns(source, table)
            assert {r[1] for r in desc} == {"VARCHAR"}
            n = con.execute(f"SELECT count(*) FROM '{path}'").fetchone()[0]
            key = f"{source}/{table}"
            assert n == counts[key]
    assert not (out / ".parts").exists()
    for key in ("erp/sales_order_lines", "erp/gl_journal_entries", "crm/Case"):
        assert 1.7 * base[key] < counts[key] < 2.3 * base[key], key
    for key in ("erp/products", "erp/exchange_rates", "erp/suppliers", "erp/gl_accounts"):
        assert counts[key] == base[key]
    ids = con.execute(
        f"SELECT count(*), count(DISTINCT order_id) FROM '{out}/erp/sales_orders.parquet'"
    ).fetchone()
    assert ids[0] == ids[1]
    ids = con.execute(f"SELECT count(*), count(DISTINCT Id) FROM '{out}/crm/Account.parquet'").fetchone()
    assert ids[0] == ids[1]
    bal = con.execute(f"""SELECT count(*) FROM (SELECT entry_id, sum(amount_eur::DECIMAL(18,2)) s
                         FROM '{out}/erp/gl_journal_entries.parquet' GROUP BY 1) WHERE s <> 0""").fetchone()[
        0
    ]
    assert bal == 0
