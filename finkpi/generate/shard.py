"""One shard = one complete set of customers with its sales, procurement, production, ledger and
CRM, on top of the shared master data. The sample is shard 0; `write_scaled` writes N shards.

Randomness: one SeedSequence per (seed, shard, module), so a module's stream does not shift when
another module draws more numbers, and shard k is the same whatever the number of shards.
"""

from __future__ import annotations

import numpy as np

from . import calendar as cal
from . import crm as crm_mod
from . import finance_gl, masterdata, procurement, production, sales
from .masterdata import (
    CHANNELS,
    COMPANY_CODE,
    COMPANY_NAME,
    COST_CENTERS,
    CURRENCIES,
    GL_ACCOUNTS,
    REGIONS,
    SEGMENTS,
    Master,
)
from .writer import Col

MASTER_STREAM, SHARD_STREAM = 0, 1
_MODULES = ["customers", "sales", "billing", "production", "procurement", "crm", "gl"]


def rng_for(seed: int, *key: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


def make_master(seed: int) -> Master:
    return masterdata.make_master(rng_for(seed, MASTER_STREAM))


def _company(n: int) -> Col:
    return Col("cat", np.zeros(n, dtype=np.int64), [COMPANY_CODE])


def _d(days) -> Col:
    return Col("date", days)


def _m(cents) -> Col:
    return Col("fix", cents, 2)


def shared_tables(m: Master) -> dict[tuple[str, str], dict[str, Col]]:
    """Tables that exist once whatever the scale: company, rates, products, suppliers, accounts."""
    n_days = cal.N_DAYS
    d = np.repeat(np.arange(n_days), 2)
    cur = np.tile([1, 2], n_days)
    n_p = len(m.product_id)
    nq = cal.N_QUARTERS
    qs = cal.QUARTER_STARTS
    valid_to = np.append(qs[1:], cal.OPEN_END)
    sup_ids = [f"S{i + 1:05d}" for i in range(len(m.sup_name))]
    return {
        ("erp", "company_codes"): {
            "company_code": _company(1),
            "company_name": Col("str", [COMPANY_NAME]),
            "country": Col("str", ["DE"]),
            "local_currency": Col("str", ["EUR"]),
        },
        ("erp", "exchange_rates"): {
            "rate_date": _d(d),
            "from_currency": Col("cat", cur, CURRENCIES),
            "to_currency": Col("cat", np.zeros(len(d), dtype=np.int64), CURRENCIES),
            "rate": Col("fix", m.rate[cur, d], 8),
        },
        ("erp", "products"): {
            "product_id": Col("str", m.product_id),
            "product_name": Col("str", m.product_name),
            "product_type": Col("cat", m.product_type, ["finished", "material"]),
            "category": Col("str", m.product_cat),
            "unit_of_measure": Col("str", m.uom),
            "list_price_eur": Col("fix", np.where(m.list_price_cents < 0, -(2**62), m.list_price_cents), 2),
        },
        ("erp", "product_standard_costs"): {
            "product_id": Col("cat", np.repeat(np.arange(n_p), nq), m.product_id),
            "valid_from": _d(np.tile(qs, n_p)),
            "valid_to": _d(np.tile(valid_to, n_p)),
            "standard_cost_eur": Col("fix", m.std_1e4.ravel(), 4),
        },
        ("erp", "suppliers"): {
            "supplier_id": Col("str", sup_ids),
            "supplier_name": Col("str", m.sup_name),
            "country": Col("str", m.sup_country),
            "currency": Col("cat", m.sup_cur, CURRENCIES),
            "payment_terms_days": Col("int", m.sup_terms),
            "category": Col("str", m.sup_cat),
            "company_code": _company(len(sup_ids)),
        },
        ("erp", "gl_accounts"): {
            "account_id": Col("str", [a[0] for a in GL_ACCOUNTS]),
            "account_name": Col("str", [a[1] for a in GL_ACCOUNTS]),
            "account_type": Col("str", [a[2] for a in GL_ACCOUNTS]),
            "account_group": Col("str", [a[3] for a in GL_ACCOUNTS]),
            "cash_flow_category": Col("str", [a[4] for a in GL_ACCOUNTS]),
            "is_control_account": Col("bool", [a[5] for a in GL_ACCOUNTS]),
        },
        ("erp", "cost_centers"): {
            "cost_center_id": Col("str", [c[0] for c in COST_CENTERS]),
            "cost_center_name": Col("str", [c[1] for c in COST_CENTERS]),
            "department": Col("str", [c[2] for c in COST_CENTERS]),
        },
    }


def shard_tables(seed: int, m: Master, shard: int, tag: str) -> dict[tuple[str, str], dict[str, Col]]:
    """Simulate one shard and return its tables as typed columns, keyed by (source, table)."""
    r = {name: rng_for(seed, SHARD_STREAM, shard, k) for k, name in enumerate(_MODULES)}
    cust = masterdata.make_customers(r["customers"], shard)
    o = sales.simulate_orders(r["sales"], m, cust)
    b = sales.bill(r["billing"], m, cust, o)
    ship_prod = o.l_prod[b.d_lines]
    ship_day = b.d_day[b.d_line_deliv]
    pr = production.plan_production(r["production"], m, ship_prod, ship_day, b.d_shipped)
    pc = procurement.purchase(r["procurement"], m, pr)
    mv = production.movements(
        m,
        (pc.pl_mat[pc.grl_line], pc.gr_day[pc.grl_rec], pc.grl_rec + 1, pc.grl_qty, pc.grl_value),
        pr,
        (ship_prod, ship_day, b.d_line_deliv + 1, b.d_shipped * 1000, b.issue_value),
    )
    cust_ids = [f"C{tag}{s:06d}" for s in cust.seq]
    cr = crm_mod.make_crm(r["crm"], m, cust, cust_ids, o, b, shard)
    gl = finance_gl.build_journal(r["gl"], m, cust, o, b, pc, pr, mv, cr.cases_per_month)

    def ident(prefix, seq, width=6):
        return Col("id", seq, prefix + tag, width)

    co = _company
    n_o, n_d = len(o.cust), len(b.d_day)
    prod_labels = m.product_id
    sup_labels = [f"S{i + 1:05d}" for i in range(len(m.sup_name))]
    o_cur = cust.currency[o.cust]
    dl = b.d_lines
    t: dict[tuple[str, str], dict[str, Col]] = {}
    t[("erp", "customers")] = {
        "customer_id": ident("C", cust.seq),
        "customer_name": Col("str", cust.name),
        "country": Col("str", cust.country),
        "region": Col("cat", cust.region, REGIONS),
        "segment": Col("cat", cust.segment, SEGMENTS),
        "currency": Col("cat", cust.currency, CURRENCIES),
        "payment_terms_days": Col("int", cust.terms),
        "created_date": _d(cust.created),
        "company_code": co(cust.n),
    }
    t[("erp", "sales_orders")] = {
        "order_id": ident("SO", np.arange(1, n_o + 1)),
        "customer_id": ident("C", cust.seq[o.cust]),
        "order_date": _d(o.day),
        "currency": Col("cat", o_cur, CURRENCIES),
        "status": Col("cat", o.status, ["open", "delivered", "cancelled"]),
        "sales_channel": Col("cat", o.channel, CHANNELS),
        "company_code": co(n_o),
    }
    t[("erp", "sales_order_lines")] = {
        "order_id": ident("SO", o.l_order + 1),
        "line_number": Col("int", o.l_no),
        "product_id": Col("cat", o.l_prod, prod_labels),
        "quantity": Col("fix", o.l_qty * 1000, 3),
        "unit_price": Col("fix", o.l_price * 100, 4),
        "discount_pct": Col("fix", o.l_disc * 100, 4),
        "net_amount": _m(o.l_net),
        "promised_date": _d(o.promised[o.l_order]),
    }
    t[("erp", "deliveries")] = {
        "delivery_id": ident("DL", b.d_line_deliv + 1),
        "order_id": ident("SO", o.l_order[dl] + 1),
        "order_line_number": Col("int", o.l_no[dl]),
        "promised_date": _d(o.promised[o.l_order[dl]]),
        "actual_date": _d(b.d_day[b.d_line_deliv]),
        "quantity_ordered": Col("fix", o.l_qty[dl] * 1000, 3),
        "quantity_shipped": Col("fix", b.d_shipped * 1000, 3),
    }
    inv_seq = np.arange(1, n_d + 1)
    t[("erp", "invoices")] = {
        "invoice_id": ident("IN", inv_seq),
        "order_id": ident("SO", b.d_order + 1),
        "delivery_id": ident("DL", inv_seq),
        "customer_id": ident("C", cust.seq[b.i_cust]),
        "invoice_date": _d(b.d_day),
        "due_date": _d(b.i_due),
        "currency": Col("cat", b.i_cur, CURRENCIES),
        "net_amount": _m(b.i_net),
        "tax_amount": _m(b.i_tax),
        "gross_amount": _m(b.i_gross),
        "company_code": co(n_d),
    }
    il_no = (
        np.arange(len(dl))
        - np.repeat(np.cumsum(o.n_lines[b.d_order]) - o.n_lines[b.d_order], o.n_lines[b.d_order])
        + 1
    )
    t[("erp", "invoice_lines")] = {
        "invoice_id": ident("IN", b.d_line_deliv + 1),
        "line_number": Col("int", il_no),
        "order_id": ident("SO", o.l_order[dl] + 1),
        "order_line_number": Col("int", o.l_no[dl]),
        "product_id": Col("cat", o.l_prod[dl], prod_labels),
        "quantity": Col("fix", b.d_shipped * 1000, 3),
        "unit_price": Col("fix", b.il_unit_1e4, 4),
        "net_amount": _m(b.il_net),
        "tax_rate": Col("fix", b.i_tax_bp[b.d_line_deliv], 4),
        "tax_amount": _m(b.il_tax),
    }
    n_cn = len(b.cn_inv)
    t[("erp", "credit_notes")] = {
        "credit_note_id": ident("CN", np.arange(1, n_cn + 1)),
        "invoice_id": ident("IN", b.cn_inv + 1),
        "customer_id": ident("C", cust.seq[b.i_cust[b.cn_inv]]),
        "credit_date": _d(b.cn_day),
        "currency": Col("cat", b.i_cur[b.cn_inv], CURRENCIES),
        "net_amount": _m(b.cn_net),
        "tax_amount": _m(b.cn_tax),
        "gross_amount": _m(b.cn_net + b.cn_tax),
        "reason": Col("cat", b.cn_reason, sales.CN_REASONS),
    }
    n_p = len(b.p_inv)
    t[("erp", "customer_payments")] = {
        "payment_id": ident("CP", np.arange(1, n_p + 1)),
        "customer_id": ident("C", cust.seq[b.i_cust[b.p_inv]]),
        "invoice_id": ident("IN", b.p_inv + 1),
        "payment_date": _d(b.p_day),
        "currency": Col("cat", b.i_cur[b.p_inv], CURRENCIES),
        "amount": _m(b.p_amt),
    }
    n_w = len(b.w_inv)
    t[("erp", "write_offs")] = {
        "write_off_id": ident("WO", np.arange(1, n_w + 1)),
        "invoice_id": ident("IN", b.w_inv + 1),
        "customer_id": ident("C", cust.seq[b.i_cust[b.w_inv]]),
        "write_off_date": _d(b.w_day),
        "currency": Col("cat", b.i_cur[b.w_inv], CURRENCIES),
        "amount": _m(b.w_amt),
        "reason": Col("cat", (b.w_inv % 2), sales.WO_REASONS),
    }

    n_po = len(pc.po_sup)
    t[("erp", "purchase_orders")] = {
        "po_id": ident("PO", np.arange(1, n_po + 1)),
        "supplier_id": Col("cat", pc.po_sup, sup_labels),
        "order_date": _d(pc.po_day),
        "currency": Col("cat", m.sup_cur[pc.po_sup], CURRENCIES),
        "status": Col("cat", pc.po_status, procurement.PO_STATUS),
        "company_code": co(n_po),
    }
    t[("erp", "purchase_order_lines")] = {
        "po_id": ident("PO", pc.pl_po + 1),
        "line_number": Col("int", pc.pl_no),
        "product_id": Col("cat", m.n_fg + pc.pl_mat, prod_labels),
        "quantity": Col("fix", pc.pl_qty, 3),
        "unit_price": Col("fix", pc.pl_price, 4),
        "net_amount": _m(pc.pl_net),
        "promised_date": _d(pc.pl_promised),
    }
    gl_ = pc.grl_line
    t[("erp", "goods_receipts")] = {
        "receipt_id": ident("GR", pc.grl_rec + 1),
        "po_id": ident("PO", pc.pl_po[gl_] + 1),
        "po_line_number": Col("int", pc.pl_no[gl_]),
        "product_id": Col("cat", m.n_fg + pc.pl_mat[gl_], prod_labels),
        "promised_date": _d(pc.pl_promised[gl_]),
        "receipt_date": _d(pc.gr_day[pc.grl_rec]),
        "quantity": Col("fix", pc.grl_qty, 3),
    }
    n_si = len(pc.gr_po)
    si_seq = np.arange(1, n_si + 1)
    si_sup = pc.po_sup[pc.gr_po]
    t[("erp", "supplier_invoices")] = {
        "supplier_invoice_id": ident("SI", si_seq),
        "supplier_id": Col("cat", si_sup, sup_labels),
        "po_id": ident("PO", pc.gr_po + 1),
        "receipt_id": ident("GR", si_seq),
        "invoice_date": _d(pc.gr_day),
        "due_date": _d(pc.si_due),
        "currency": Col("cat", m.sup_cur[si_sup], CURRENCIES),
        "net_amount": _m(pc.si_net),
        "tax_amount": _m(pc.si_tax),
        "gross_amount": _m(pc.si_gross),
        "company_code": co(n_si),
    }
    n_sp = len(pc.sp_inv)
    t[("erp", "supplier_payments")] = {
        "payment_id": ident("SP", np.arange(1, n_sp + 1)),
        "supplier_id": Col("cat", si_sup[pc.sp_inv], sup_labels),
        "supplier_invoice_id": ident("SI", pc.sp_inv + 1),
        "payment_date": _d(pc.sp_day),
        "currency": Col("cat", m.sup_cur[si_sup[pc.sp_inv]], CURRENCIES),
        "amount": _m(pc.sp_amt),
    }
    n_mv = len(mv.prod)
    t[("erp", "inventory_movements")] = {
        "movement_id": ident("IM", np.arange(1, n_mv + 1)),
        "product_id": Col("cat", mv.prod, prod_labels),
        "movement_date": _d(mv.day),
        "movement_type": Col("cat", mv.mtype, production.MOVE_TYPES),
        "reference_id": Col(
            "pid", mv.ref, [p + tag for p in production.REF_PREFIX], [8, 6, 6, 6, 6], mv.mtype
        ),
        "quantity": Col("fix", mv.qty, 3),
        "value_eur": _m(mv.value),
    }
    n_pr = len(pr.prod)
    t[("erp", "production_orders")] = {
        "production_order_id": ident("PR", np.arange(1, n_pr + 1)),
        "product_id": Col("cat", pr.prod, prod_labels),
        "start_date": _d(pr.start),
        "finish_date": _d(pr.finish),
        "planned_quantity": Col("fix", pr.planned * 1000, 3),
        "actual_quantity": Col("fix", pr.actual * 1000, 3),
        "good_quantity": Col("fix", pr.good * 1000, 3),
        "scrapped_quantity": Col("fix", pr.scrapped * 1000, 3),
        "actual_cost_eur": _m(pr.cost_cents),
        "status": Col("cat", np.zeros(n_pr, dtype=np.int64), ["completed"]),
    }
    n_gl = len(gl["day"])
    t[("erp", "gl_journal_entries")] = {
        "entry_id": ident("JE", gl["entry"]),
        "line_number": Col("int", gl["line"]),
        "posting_date": _d(gl["day"]),
        "document_type": Col("cat", gl["dtype"], finance_gl.DOC_TYPES),
        "document_id": Col(
            "pid",
            gl["seq"],
            [p + tag for p, _w in finance_gl.DOC_PREFIX],
            [w for _p, w in finance_gl.DOC_PREFIX],
            gl["pfx"],
        ),
        "account_id": Col("cat", gl["acc"], [a[0] for a in GL_ACCOUNTS]),
        "cost_center_id": Col("cat", gl["cc"], [c[0] for c in COST_CENTERS]),
        "currency": Col("cat", gl["cur"], CURRENCIES),
        "amount": _m(gl["amt"]),
        "amount_eur": _m(gl["eur"]),
        "company_code": co(n_gl),
    }

    t.update(_crm_cols(cr.tables, tag))
    return t


def _crm_cols(tb: dict, tag: str) -> dict[tuple[str, str], dict[str, Col]]:
    def ts(pair, order):
        zone, utc = pair
        local, off = crm_mod.ts_cols(zone[order], utc[order])
        return Col("ts", local, c=off)

    def s(x, order):
        return Col("str", np.asarray(x, dtype=object)[order])

    a, c, ld, op, cs = tb["Account"], tb["Contact"], tb["Lead"], tb["Opportunity"], tb["Case"]
    oa, oc, ol, oo, ok = a["_order"], c["_order"], ld["_order"], op["_order"], cs["_order"]
    case_order = cs["ERP_Order_Number__c"][ok]
    return {
        ("crm", "Account"): {
            "Id": s(a["Id"], oa),
            "Name": s(a["Name"], oa),
            "ERP_Customer_Number__c": s(a["ERP_Customer_Number__c"], oa),
            "BillingCountry": s(a["BillingCountry"], oa),
            "Industry": s(a["Industry"], oa),
            "Type": Col("cat", a["Type"][oa], crm_mod.ACCOUNT_TYPE),
            "CreatedDate": ts(a["CreatedDate"], oa),
        },
        ("crm", "Contact"): {
            "Id": s(c["Id"], oc),
            "AccountId": s(c["AccountId"], oc),
            "FirstName": s(c["FirstName"], oc),
            "LastName": s(c["LastName"], oc),
            "Email": s(c["Email"], oc),
            "Phone": s(c["Phone"], oc),
            "Title": s(c["Title"], oc),
            "CreatedDate": ts(c["CreatedDate"], oc),
        },
        ("crm", "Lead"): {
            "Id": s(ld["Id"], ol),
            "FirstName": s(ld["FirstName"], ol),
            "LastName": s(ld["LastName"], ol),
            "Company": s(ld["Company"], ol),
            "Email": s(ld["Email"], ol),
            "Phone": s(ld["Phone"], ol),
            "Status": Col("cat", ld["Status"][ol], crm_mod.LEAD_STATUS),
            "LeadSource": Col("cat", ld["LeadSource"][ol], crm_mod.LEAD_SOURCE),
            "IsConverted": Col("bool", ld["IsConverted"][ol]),
            "ConvertedAccountId": s(ld["ConvertedAccountId"], ol),
            "CreatedDate": ts(ld["CreatedDate"], ol),
        },
        ("crm", "Opportunity"): {
            "Id": s(op["Id"], oo),
            "AccountId": s(op["AccountId"], oo),
            "Name": s(op["Name"], oo),
            "StageName": Col("cat", op["StageName"][oo], crm_mod.STAGES),
            "Amount": _m(op["Amount"][oo]),
            "CurrencyIsoCode": Col("cat", op["CurrencyIsoCode"][oo], CURRENCIES),
            "Probability": Col("fix", op["Probability"][oo], 2),
            "IsClosed": Col("bool", op["IsClosed"][oo]),
            "IsWon": Col("bool", op["IsWon"][oo]),
            "CreatedDate": ts(op["CreatedDate"], oo),
            "CloseDate": _d(op["CloseDate"][oo]),
        },
        ("crm", "Case"): {
            "Id": s(cs["Id"], ok),
            "CaseNumber": Col("id", cs["CaseNumber"][ok], tag, 8),
            "AccountId": s(cs["AccountId"], ok),
            "ContactId": s(cs["ContactId"], ok),
            "Type": Col("cat", cs["Type"][ok], crm_mod.CASE_TYPE),
            "Reason": Col("cat", cs["Reason"][ok], crm_mod.CASE_REASON),
            "Priority": Col("cat", cs["Priority"][ok], crm_mod.PRIORITY),
            "Status": Col("cat", cs["Status"][ok], crm_mod.CASE_STATUS),
            "Origin": Col("cat", cs["Origin"][ok], crm_mod.ORIGIN),
            "ERP_Order_Number__c": Col("id", np.where(case_order >= 0, case_order + 1, -1), "SO" + tag, 6),
            "TimeZoneSidKey": Col("cat", cs["TimeZoneSidKey"][ok], crm_mod.ZONES),
            "CreatedDate": ts(cs["CreatedDate"], ok),
            "First_Response_Date__c": ts(cs["First_Response_Date__c"], ok),
            "ClosedDate": ts(cs["ClosedDate"], ok),
        },
    }
