"""General ledger: one journal entry per sub-ledger document, plus period postings (payroll and
other operating expenses per cost center, depreciation, VAT settlement) and a few investing and
financing cash entries.

Rounding scheme (why the reconciliations hold to the cent): the EUR value that a document moves on
receivables/payables is round(open_before x rate) - round(open_after x rate), with the rate of the
ORIGINAL invoice date and the open amounts in transaction currency. These telescope, so at any date
the EUR balance of 1200 equals the sum over invoices of round(open amount x invoice-date rate),
invoice by invoice (same for 2000 and supplier invoices). FX differences against the payment-date
rate go to 7000 on a line with amount 0 in transaction currency, so every entry also balances in its
transaction currency. Inventory lines carry exactly the values of the inventory movements.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import calendar as cal
from .fixed import round_int, to_eur
from .masterdata import ACC, CC, COST_CENTERS, Customers, Master

DOC_TYPES = [
    "invoice",
    "credit_note",
    "customer_payment",
    "write_off",
    "supplier_invoice",
    "supplier_payment",
    "goods_receipt",
    "production",
    "sales_issue",
    "revaluation",
    "payroll",
    "expense",
    "capex",
    "loan",
    "fx",
]
DT = {t: i for i, t in enumerate(DOC_TYPES)}
# document number prefixes used in gl_journal_entries.document_id (and elsewhere): prefix, digits
DOC_PREFIX = [
    ("IN", 6),
    ("CN", 6),
    ("CP", 6),
    ("WO", 6),
    ("SI", 6),
    ("SP", 6),
    ("PR", 6),
    ("DL", 6),
    ("RV", 8),
    ("PY", 8),
    ("EX", 8),
    ("DP", 6),
    ("VT", 6),
    ("CX", 6),
    ("LN", 6),
    ("EQ", 6),
    ("FX", 8),
]
DP = {p: i for i, (p, _w) in enumerate(DOC_PREFIX)}
CASH = np.array([ACC["1000"], ACC["1010"], ACC["1020"]])  # bank account by currency

# Operating expense model: share of the average monthly revenue per cost center and account.
PAYROLL_SHARE = {
    "CC1000": 0.045,
    "CC1010": 0.035,
    "CC2000": 0.015,
    "CC4000": 0.030,
    "CC5000": 0.015,
    "CC6000": 0.020,
    "CC6010": 0.012,
}
EXPENSE_SHARE = {  # cost center -> [(account, share of average monthly revenue)]
    "CC1000": [("6300", 0.008), ("6500", 0.004)],
    "CC1010": [("6300", 0.006), ("6500", 0.005)],
    "CC2000": [("6500", 0.001)],
    "CC4000": [("6100", 0.006)],
    "CC5000": [("6400", 0.001)],
    "CC6000": [("6100", 0.004)],
    "CC6010": [("6400", 0.006)],
}
FREIGHT_SHARE = 0.018  # outbound freight (Logistics) as a share of the month's invoiced revenue
PRODUCTION_PAYROLL_SHARE = 0.6  # of actual conversion cost; the rest is energy and maintenance
WAGE_INFLATION = 0.03


@dataclass
class Journal:
    day: list = field(default_factory=list)
    dtype: list = field(default_factory=list)
    pfx: list = field(default_factory=list)
    seq: list = field(default_factory=list)
    line: list = field(default_factory=list)
    acc: list = field(default_factory=list)
    cc: list = field(default_factory=list)
    cur: list = field(default_factory=list)
    amt: list = field(default_factory=list)
    eur: list = field(default_factory=list)

    def add(self, dtype: str, pfx: str, seq, day, lines):
        """Add one entry per document: `lines` = [(account, cost center, currency, amount, eur)],
        each item a scalar or an array over the documents."""
        seq = np.asarray(seq, dtype=np.int64)
        n = len(seq)
        if n == 0:
            return
        for k, (acc, cc, cur, amt, eur) in enumerate(lines):
            self.day.append(np.broadcast_to(np.asarray(day, dtype=np.int64), n))
            self.dtype.append(np.full(n, DT[dtype]))
            self.pfx.append(np.full(n, DP[pfx]))
            self.seq.append(seq)
            self.line.append(np.full(n, k))
            self.acc.append(np.broadcast_to(np.asarray(acc, dtype=np.int64), n))
            self.cc.append(np.broadcast_to(np.asarray(cc, dtype=np.int64), n))
            self.cur.append(np.broadcast_to(np.asarray(cur, dtype=np.int64), n))
            self.amt.append(np.broadcast_to(np.asarray(amt, dtype=np.int64), n))
            self.eur.append(np.broadcast_to(np.asarray(eur, dtype=np.int64), n))

    def arrays(self) -> dict[str, np.ndarray]:
        a = {
            k: np.concatenate(getattr(self, k))
            for k in ("day", "dtype", "pfx", "seq", "line", "acc", "cc", "cur", "amt", "eur")
        }
        keep = (a["amt"] != 0) | (a["eur"] != 0)
        a = {k: v[keep] for k, v in a.items()}
        o = np.lexsort((a["line"], a["seq"], a["pfx"], a["dtype"], a["day"]))
        a = {k: v[o] for k, v in a.items()}
        new = np.ones(len(o), dtype=bool)
        new[1:] = (
            (np.diff(a["day"]) != 0)
            | (np.diff(a["dtype"]) != 0)
            | (np.diff(a["pfx"]) != 0)
            | (np.diff(a["seq"]) != 0)
        )
        a["entry"] = np.cumsum(new)  # entry numbers follow the posting date
        starts = np.flatnonzero(new)
        a["line"] = np.arange(len(o)) - np.repeat(starts, np.diff(np.append(starts, len(o)))) + 1
        return a


def telescoped_eur(open0, rate_1e8, ev_inv, ev_day, ev_kind, ev_amt):
    """EUR moved on the control account by each settling event (credit note, payment, write-off):
    round(open_before x rate) - round(open_after x rate), events in date order per document."""
    o = np.lexsort((ev_kind, ev_day, ev_inv))
    inv, amt = ev_inv[o], ev_amt[o]
    cs = np.cumsum(amt)
    first = np.ones(len(o), dtype=bool)
    first[1:] = inv[1:] != inv[:-1]
    base = np.maximum.accumulate(np.where(first, np.arange(len(o)), 0))
    before = open0[inv] - (cs - amt - (cs[base] - amt[base]))
    after = before - amt
    r = rate_1e8[inv]
    out = np.empty(len(o), dtype=np.int64)
    out[o] = to_eur(before, r) - to_eur(after, r)
    return out


def _sales_cc(cust: Customers, c):
    return np.where(cust.region[c] == 0, CC["CC1000"], CC["CC1010"])


def build_journal(
    rng, master: Master, cust: Customers, orders, billing, proc, prod, moves, cases_per_month: np.ndarray
) -> dict[str, np.ndarray]:
    j = Journal()
    b = billing
    fin = CC["CC6000"]

    # --- order to cash ----------------------------------------------------------------------------
    n_i = len(b.d_day)
    r_inv = master.rate[b.i_cur, b.d_day]
    g_eur = to_eur(b.i_gross, r_inv)
    t_eur = to_eur(b.i_tax, r_inv)
    scc = _sales_cc(cust, b.i_cust)
    inv_seq = np.arange(1, n_i + 1)
    j.add(
        "invoice",
        "IN",
        inv_seq,
        b.d_day,
        [
            (ACC["1200"], -1, b.i_cur, b.i_gross, g_eur),
            (ACC["4000"], scc, b.i_cur, -b.i_net, -(g_eur - t_eur)),
            (ACC["2200"], -1, b.i_cur, -b.i_tax, -t_eur),
        ],
    )
    # COGS at standard when the goods leave (one entry per delivery)
    issue_val = np.bincount(b.d_line_deliv, b.issue_value, n_i).astype(np.int64)
    j.add(
        "sales_issue",
        "DL",
        inv_seq,
        b.d_day,
        [
            (ACC["5000"], scc, 0, issue_val, issue_val),
            (ACC["1300"], -1, 0, -issue_val, -issue_val),
        ],
    )
    # settling events in transaction currency -> EUR on AR at the invoice rate
    n_cn, n_p, n_w = len(b.cn_inv), len(b.p_inv), len(b.w_inv)
    cn_gross = b.cn_net + b.cn_tax
    ev_inv = np.concatenate([b.cn_inv, b.p_inv, b.w_inv])
    ev_day = np.concatenate([b.cn_day, b.p_day, b.w_day])
    ev_kind = np.concatenate([np.zeros(n_cn), np.ones(n_p), np.full(n_w, 2)]).astype(np.int64)
    ev_amt = np.concatenate([cn_gross, b.p_amt, b.w_amt])
    ar = telescoped_eur(b.i_gross, r_inv, ev_inv, ev_day, ev_kind, ev_amt)
    ar_cn, ar_p, ar_w = ar[:n_cn], ar[n_cn : n_cn + n_p], ar[n_cn + n_p :]

    cur = b.i_cur[b.cn_inv]
    cn_t = to_eur(b.cn_tax, r_inv[b.cn_inv])
    j.add(
        "credit_note",
        "CN",
        np.arange(1, n_cn + 1),
        b.cn_day,
        [
            (ACC["4100"], scc[b.cn_inv], cur, b.cn_net, ar_cn - cn_t),
            (ACC["2200"], -1, cur, b.cn_tax, cn_t),
            (ACC["1200"], -1, cur, -cn_gross, -ar_cn),
        ],
    )
    cur = b.i_cur[b.p_inv]
    cash_eur = to_eur(b.p_amt, master.rate[cur, b.p_day])
    j.add(
        "customer_payment",
        "CP",
        np.arange(1, n_p + 1),
        b.p_day,
        [
            (CASH[cur], -1, cur, b.p_amt, cash_eur),
            (ACC["1200"], -1, cur, -b.p_amt, -ar_p),
            (ACC["7000"], fin, cur, 0, ar_p - cash_eur),
        ],
    )
    cur = b.i_cur[b.w_inv]
    j.add(
        "write_off",
        "WO",
        np.arange(1, n_w + 1),
        b.w_day,
        [
            (ACC["6600"], fin, cur, b.w_amt, ar_w),
            (ACC["1200"], -1, cur, -b.w_amt, -ar_w),
        ],
    )

    # --- procure to pay -----------------------------------------------------------------------------
    p = proc
    n_si = len(p.gr_day)
    si_cur = master.sup_cur[p.po_sup[p.gr_po]]
    r_si = master.rate[si_cur, p.gr_day]
    ap_eur = to_eur(p.si_gross, r_si)
    vat_eur = to_eur(p.si_tax, r_si)
    ppv = ap_eur - vat_eur - p.si_std
    j.add(
        "supplier_invoice",
        "SI",
        np.arange(1, n_si + 1),
        p.gr_day,
        [
            (ACC["1310"], -1, si_cur, p.si_net, p.si_std),
            (ACC["5100"], CC["CC2000"], si_cur, 0, ppv),
            (ACC["1400"], -1, si_cur, p.si_tax, vat_eur),
            (ACC["2000"], -1, si_cur, -p.si_gross, -ap_eur),
        ],
    )
    cur = si_cur[p.sp_inv]
    ap_p = ap_eur[p.sp_inv]  # always paid in full: the whole open EUR amount leaves AP
    cash_eur = to_eur(p.sp_amt, master.rate[cur, p.sp_day])
    j.add(
        "supplier_payment",
        "SP",
        np.arange(1, len(p.sp_inv) + 1),
        p.sp_day,
        [
            (ACC["2000"], -1, cur, p.sp_amt, ap_p),
            (CASH[cur], -1, cur, -p.sp_amt, -cash_eur),
            (ACC["7000"], fin, cur, 0, cash_eur - ap_p),
        ],
    )

    # --- production and revaluation -------------------------------------------------------------------
    n_po = len(prod.prod)
    cons = np.bincount(prod.cons_order, prod.cons_value, n_po).astype(np.int64)
    pcc = np.where(master.fg_cat[prod.prod] <= 1, CC["CC3000"], CC["CC3010"])
    var = cons + prod.conv_cents - prod.out_value
    j.add(
        "production",
        "PR",
        np.arange(1, n_po + 1),
        prod.finish,
        [
            (ACC["1300"], -1, 0, prod.out_value, prod.out_value),
            (ACC["1310"], -1, 0, -cons, -cons),
            (ACC["5300"], pcc, 0, -prod.conv_cents, -prod.conv_cents),
            (ACC["5200"], pcc, 0, var, var),
        ],
    )
    rv_seq = np.array([cal.yyyymmdd(d) for d in moves.rv_day], dtype=np.int64)
    j.add(
        "revaluation",
        "RV",
        rv_seq,
        moves.rv_day,
        [
            (ACC["1300"], -1, 0, moves.rv_fg, moves.rv_fg),
            (ACC["1310"], -1, 0, moves.rv_mat, moves.rv_mat),
            (ACC["5200"], fin, 0, -(moves.rv_fg + moves.rv_mat), -(moves.rv_fg + moves.rv_mat)),
        ],
    )

    # --- period costs: payroll and other opex per cost center and month ------------------------------
    nm = cal.N_MONTHS
    m_end = cal.MONTH_END_DAYS
    m_first = np.array([cal.month_first_day(m) for m in range(nm)])
    full_len = np.array([cal.month_first_day(m + 1) - cal.month_first_day(m) for m in range(nm)])
    prorate = (m_end - m_first + 1) / full_len  # the running month (Nov 2025) only up to AS_OF
    rev_m = np.bincount(cal.MONTH_INDEX[b.d_day], g_eur - t_eur, nm)
    avg_rev = rev_m[:-1].mean() if nm > 1 else rev_m.mean()
    act = rev_m / np.maximum(prorate, 1e-9) / avg_rev  # activity index (1 = average month)
    act_s = np.convolve(np.pad(act, (2, 0), mode="edge"), np.ones(3) / 3, mode="valid")  # 3-month avg
    wage = (1 + WAGE_INFLATION) ** (cal.YEAR[m_first] - 2023)
    cs_act = cases_per_month / np.maximum(prorate, 1e-9)
    cs_act = cs_act / max(cs_act[:-1].mean(), 1e-9)
    ym = np.array([cal.yyyymmdd(d) // 100 for d in m_first])
    months = np.arange(nm)

    conv_m = np.zeros((len(COST_CENTERS), nm), dtype=np.int64)
    np.add.at(conv_m, (pcc, cal.MONTH_INDEX[prod.finish]), prod.conv_cents)
    for cc_id, ci in CC.items():
        if cc_id in ("CC3000", "CC3010"):  # production: conversion cost actually spent (to 5300)
            pay = round_int(conv_m[ci] * PRODUCTION_PAYROLL_SHARE)
            other = conv_m[ci] - pay
            j.add(
                "payroll",
                "PY",
                ym * 100 + ci + 1,
                m_end,
                [(ACC["5300"], ci, 0, pay, pay), (ACC["1000"], -1, 0, -pay, -pay)],
            )
            j.add(
                "expense",
                "EX",
                ym * 100 + ci + 1,
                m_end,
                [(ACC["5300"], ci, 0, other, other), (ACC["1000"], -1, 0, -other, -other)],
            )
            continue
        load = act_s if cc_id != "CC5000" else 0.5 * act_s + 0.5 * cs_act
        pay = round_int(
            PAYROLL_SHARE[cc_id]
            * avg_rev
            * (0.7 + 0.3 * load)
            * wage
            * prorate
            * (1 + rng.normal(0, 0.01, nm))
        )
        j.add(
            "payroll",
            "PY",
            ym * 100 + ci + 1,
            m_end,
            [(ACC["6000"], ci, 0, pay, pay), (ACC["1000"], -1, 0, -pay, -pay)],
        )
        lines = []
        total = np.zeros(nm, dtype=np.int64)
        for acc, share in EXPENSE_SHARE[cc_id]:
            seasonal = cal.SEASONALITY[cal.CAL_MONTH[m_first] - 1] if acc == "6300" else 1.0
            x = round_int(share * avg_rev * seasonal * prorate * rng.uniform(0.85, 1.15, nm))
            lines.append((ACC[acc], ci, 0, x, x))
            total += x
        if cc_id == "CC4000":
            x = round_int(FREIGHT_SHARE * rev_m * rng.uniform(0.95, 1.05, nm))
            lines.append((ACC["6200"], ci, 0, x, x))
            total += x
        lines.append((ACC["1000"], -1, 0, -total, -total))
        j.add("expense", "EX", ym * 100 + ci + 1, m_end, lines)

    # --- investing and financing -------------------------------------------------------------------
    capex_days = np.array(
        [
            cal.day(2023, 3, 15),
            cal.day(2023, 9, 12),
            cal.day(2024, 2, 20),
            cal.day(2024, 10, 8),
            cal.day(2025, 4, 10),
            cal.day(2025, 9, 18),
        ]
    )
    capex = round_int(0.3 * avg_rev * rng.uniform(0.5, 1.5, len(capex_days)))
    j.add(
        "capex",
        "CX",
        np.arange(1, len(capex_days) + 1),
        capex_days,
        [(ACC["0400"], -1, 0, capex, capex), (ACC["1000"], -1, 0, -capex, -capex)],
    )
    # straight-line depreciation over 60 months, starting the month after the purchase
    cum_capex = np.array([capex[cal.MONTH_INDEX[capex_days] < m].sum() for m in months])
    dep = round_int(cum_capex / 60.0 * prorate)
    j.add(
        "expense",
        "DP",
        ym,
        m_end,
        [(ACC["6700"], CC["CC3000"], 0, dep, dep), (ACC["0400"], -1, 0, -dep, -dep)],
    )

    d0 = cal.day(2023, 1, 2)
    loan = round_int(3.0 * avg_rev)
    equity = round_int(2.5 * avg_rev)
    j.add("loan", "LN", [1], d0, [(ACC["1000"], -1, 0, loan, loan), (ACC["2500"], -1, 0, -loan, -loan)])
    j.add(
        "loan", "EQ", [1], d0, [(ACC["1000"], -1, 0, equity, equity), (ACC["3000"], -1, 0, -equity, -equity)]
    )
    q_ends = [
        cal.month_last_day(m)
        for m in range(2, nm, 3)
        if cal.month_last_day(m) == cal.month_first_day(m + 1) - 1
    ]
    q_ends = np.array(q_ends, dtype=np.int64)
    principal = round_int(loan / 24.0)
    outstanding = loan - principal * np.arange(len(q_ends))
    interest = round_int(outstanding * 0.045 / 4)
    j.add(
        "loan",
        "LN",
        np.arange(2, len(q_ends) + 2),
        q_ends,
        [
            (ACC["2500"], -1, 0, principal, principal),
            (ACC["7100"], fin, 0, interest, interest),
            (ACC["1000"], -1, 0, -(principal + interest), -(principal + interest)),
        ],
    )
    div_days = np.array([cal.day(2024, 5, 15), cal.day(2025, 5, 15)])
    div = round_int(0.5 * avg_rev * rng.uniform(0.8, 1.2, 2))
    j.add("loan", "EQ", [2, 3], div_days, [(ACC["3000"], -1, 0, div, div), (ACC["1000"], -1, 0, -div, -div)])

    # --- treasury: foreign bank accounts at month end ------------------------------------------------
    # USD and CNY accounts are revalued to the month-end rate (difference to 7000), then topped up
    # from / swept to the EUR account so that they hold what next month's supplier payments in that
    # currency need. Without it the CNY account would run deep into overdraft (China is mostly a
    # sourcing market) while USD piles up.
    a = j.arrays()
    sp_cur = si_cur[p.sp_inv]
    full_month = m_end == np.array([cal.month_first_day(m + 1) - 1 for m in months])
    for k in (1, 2):
        sel = a["acc"] == CASH[k]
        mo = cal.MONTH_INDEX[a["day"][sel]]
        amt_m = np.bincount(mo, a["amt"][sel], nm).astype(np.int64)
        eur_m = np.bincount(mo, a["eur"][sel], nm).astype(np.int64)
        need = np.bincount(cal.MONTH_INDEX[p.sp_day[sp_cur == k]], p.sp_amt[sp_cur == k], nm + 1)
        # opening funding on the first working day for January's payments (document ...0111/0112)
        d0 = cal.day(2023, 1, 2)
        bal_t = int(round_int(need[0] * 1.1))
        bal_e = int(to_eur(bal_t, master.rate[k, d0]))
        j.add(
            "fx",
            "FX",
            [ym[0] * 100 + 10 + k],
            d0,
            [(CASH[k], -1, k, bal_t, bal_e), (ACC["1000"], -1, 0, -bal_e, -bal_e)],
        )
        rows = []
        for mm in months:
            bal_t += int(amt_m[mm])
            bal_e += int(eur_m[mm])
            if not full_month[mm]:
                continue
            r = master.rate[k, m_end[mm]]
            reval = int(to_eur(bal_t, r)) - bal_e
            target = int(round_int(need[mm + 1] * 1.1))
            x_eur = int(to_eur(target, r)) - int(to_eur(bal_t, r))
            rows.append((mm, reval, target - bal_t, x_eur))
            bal_t, bal_e = target, int(to_eur(target, r))
        mm, reval, x, x_eur = (np.array(c, dtype=np.int64) for c in zip(*rows, strict=True))
        j.add(
            "fx",
            "FX",
            ym[mm] * 100 + k,
            m_end[mm],
            [
                (CASH[k], -1, k, x, reval + x_eur),
                (ACC["7000"], fin, k, 0, -reval),
                (ACC["1000"], -1, 0, -x_eur, -x_eur),
            ],
        )

    # --- monthly VAT settlement with the tax office (on the 10th of the following month) ---------
    a = j.arrays()
    m_of = cal.MONTH_INDEX[a["day"]]
    out_vat = -np.bincount(m_of, np.where(a["acc"] == ACC["2200"], a["eur"], 0), nm).astype(np.int64)
    in_vat = np.bincount(m_of, np.where(a["acc"] == ACC["1400"], a["eur"], 0), nm).astype(np.int64)
    vat_day = np.array([cal.month_first_day(m + 1) + 9 for m in range(nm)])
    ok = vat_day <= cal.LAST
    j.add(
        "expense",
        "VT",
        ym[ok],
        vat_day[ok],
        [
            (ACC["2200"], -1, 0, out_vat[ok], out_vat[ok]),
            (ACC["1400"], -1, 0, -in_vat[ok], -in_vat[ok]),
            (ACC["1000"], -1, 0, in_vat[ok] - out_vat[ok], in_vat[ok] - out_vat[ok]),
        ],
    )
    return j.arrays()
