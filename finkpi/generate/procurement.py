"""Procure-to-pay: material requirements, purchase orders, goods receipts, supplier invoices and
supplier payments.

Materials are bought backwards from production: what production consumes in week w was received in
week w-1 or earlier (plus safety stock and lots of several weeks, bigger lots from far-away
suppliers). The receipt date is fixed by the plan first; the supplier's lateness then decides the
promised date, and the lead time the order date. During the shock the main CNY supplier is late a
lot and charges ~15% more.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import calendar as cal
from .fixed import rdiv, round_int, value_cents
from .masterdata import MAIN_SUPPLIER, SUPPLIER_LEAD_DAYS, Master, std_on
from .production import Production, _forward_mean, with_forecast

PO_STATUS = ["open", "received", "cancelled", "rejected"]
COVER_WEEKS_BY_CUR = np.array([3.0, 5.0, 6.0])  # lot size in weeks of demand: EUR, USD, CNY suppliers
SHOCK_SUPPLIER_LATE = 0.8  # extra P(late) of the main CNY supplier at full shock intensity
SHOCK_SUPPLIER_DAYS = 18  # extra mean days late at full shock intensity
SAFETY_WEEKS = 2.0  # material safety stock in weeks of consumption
CANCEL_REJECT_P = 0.045
UNDER_DELIVERY_P = 0.02
DE_INPUT_VAT_BP = 1900  # German suppliers charge 19% VAT; EU reverse charge / imports carry none here


@dataclass
class Procurement:
    po_sup: np.ndarray
    po_day: np.ndarray
    po_status: np.ndarray
    pl_po: np.ndarray
    pl_no: np.ndarray
    pl_mat: np.ndarray
    pl_qty: np.ndarray  # milli-units
    pl_price: np.ndarray  # 1e-4 of the supplier currency
    pl_net: np.ndarray  # cents
    pl_promised: np.ndarray
    gr_po: np.ndarray  # receipt document -> PO
    gr_day: np.ndarray
    grl_rec: np.ndarray  # receipt row -> receipt document
    grl_line: np.ndarray  # receipt row -> PO line
    grl_qty: np.ndarray
    grl_value: np.ndarray  # cents at standard on the receipt date
    si_net: np.ndarray  # supplier invoice = receipt document (same numbering)
    si_tax: np.ndarray
    si_gross: np.ndarray
    si_due: np.ndarray
    si_std: np.ndarray
    sp_inv: np.ndarray
    sp_day: np.ndarray
    sp_amt: np.ndarray


def purchase(rng, master: Master, prod: Production) -> Procurement:
    n_mat = master.n_mat
    nw = cal.N_WEEKS
    need = np.zeros((n_mat, nw + 1), dtype=np.int64)
    np.add.at(need, (prod.cons_mat, cal.week_of(prod.start[prod.cons_order])), prod.cons_qty)
    fwd = _forward_mean(with_forecast(need, int(cal.week_of(cal.LAST))), 6)
    sup = master.mat_supplier
    cur = master.sup_cur[sup]
    cover = COVER_WEEKS_BY_CUR[cur]
    lot = 10_000  # order in multiples of 10 units / 10 kg
    stock = np.zeros(n_mat, dtype=np.int64)
    rows = []
    last_w = int(cal.week_of(cal.LAST))
    for w in range(2, last_w + 1):
        nd = need[:, w]
        ss = np.ceil(fwd[:, w] * SAFETY_WEEKS).astype(np.int64)
        trig = stock - nd < ss
        q = np.ceil(np.maximum(nd + ss + fwd[:, w] * cover - stock, 1) / lot).astype(np.int64) * lot
        q = np.where(trig, q, 0)
        under = rng.random(n_mat) < UNDER_DELIVERY_P
        recv = np.where(under, (q * rng.uniform(0.9, 0.99, n_mat)).astype(np.int64) // 1000 * 1000, q)
        recv = np.where(stock + recv - nd < 0, q, recv)  # never let a short delivery stop production
        idx = np.flatnonzero(q > 0)
        rows.append((idx, np.full(len(idx), w - 1), q[idx], recv[idx]))
        stock += recv - nd
    m = np.concatenate([r[0] for r in rows])
    rw = np.concatenate([r[1] for r in rows])
    q_ord = np.concatenate([r[2] for r in rows])
    q_rec = np.concatenate([r[3] for r in rows])

    # one PO per supplier and receipt week; its lines are the triggered materials
    key = sup[m] * 10_000 + rw
    ukey, po_of_line = np.unique(key, return_inverse=True)
    n_po = len(ukey)
    p_sup = ukey // 10_000
    p_week = ukey % 10_000
    p_cur = master.sup_cur[p_sup]
    rec_day = np.minimum(cal.week_start(p_week) + rng.integers(0, 5, n_po), cal.LAST)
    sh = cal.shock(rec_day)
    main = p_sup == MAIN_SUPPLIER
    p_late = 1 - master.sup_ontime[p_sup] + np.where(main, SHOCK_SUPPLIER_LATE, 0.05) * sh
    late = rng.random(n_po) < np.clip(p_late, 0, 0.95)
    late_days = rng.geometric(0.3, n_po) + np.where(main, rng.poisson(SHOCK_SUPPLIER_DAYS * sh), 0)
    promised = np.where(
        late, cal.prev_weekday(rec_day - late_days), cal.next_weekday(rec_day + rng.integers(0, 3, n_po))
    )
    lead = SUPPLIER_LEAD_DAYS[p_cur] + rng.integers(0, 4, n_po)
    o_day = np.maximum(cal.prev_weekday(promised - lead), 1)
    o_day = np.minimum(o_day, rec_day)
    promised = np.maximum(promised, o_day)
    status = np.ones(n_po, dtype=np.int64)  # received

    # POs that never arrive: cancelled or rejected duplicates placed a few days earlier
    dup = np.flatnonzero(rng.random(n_po) < CANCEL_REJECT_P)
    d_day = np.maximum(o_day[dup] - rng.integers(1, 11, len(dup)), 1)
    d_status = np.where(rng.random(len(dup)) < 0.6, 2, 3)
    d_prom = cal.next_weekday(d_day + SUPPLIER_LEAD_DAYS[p_cur[dup]])

    # open POs at the end of the history (some already overdue): one per supplier
    act_sup = np.unique(sup)
    e_day = cal.prev_weekday(cal.LAST - rng.integers(0, 21, len(act_sup)))
    e_prom = cal.next_weekday(
        e_day + SUPPLIER_LEAD_DAYS[master.sup_cur[act_sup]] + rng.integers(-6, 4, len(act_sup))
    )

    # assemble POs: real, duplicates, open
    all_sup = np.concatenate([p_sup, p_sup[dup], act_sup])
    all_day = np.concatenate([o_day, d_day, e_day])
    all_status = np.concatenate([status, d_status, np.zeros(len(act_sup), dtype=np.int64)])
    all_prom = np.concatenate([promised, d_prom, e_prom])
    n_all = len(all_sup)
    # lines of every PO: (po index in `all`, material, qty ordered, qty received)
    l_po = [po_of_line]
    l_mat = [m]
    l_q = [q_ord]
    l_r = [q_rec]
    dup_pos = np.full(n_po, -1)
    dup_pos[dup] = np.arange(len(dup))
    in_dup = dup_pos[po_of_line] >= 0
    l_po.append(n_po + dup_pos[po_of_line][in_dup])
    l_mat.append(m[in_dup])
    l_q.append(q_ord[in_dup])
    l_r.append(np.zeros(in_dup.sum(), dtype=np.int64))
    for k, s in enumerate(act_sup):
        mats = np.flatnonzero(sup == s)
        lq = np.maximum(fwd[mats, last_w - 6 : last_w].mean(axis=1) * cover[mats], lot)
        lq = np.ceil(lq / lot).astype(np.int64) * lot
        l_po.append(np.full(len(mats), n_po + len(dup) + k))
        l_mat.append(mats)
        l_q.append(lq)
        l_r.append(np.zeros(len(mats), dtype=np.int64))
    l_po = np.concatenate(l_po)
    l_mat = np.concatenate(l_mat)
    l_q = np.concatenate(l_q)
    l_r = np.concatenate(l_r)

    # number POs by order date
    po_order = np.lexsort((all_sup, all_day))
    rank = np.empty(n_all, dtype=np.int64)
    rank[po_order] = np.arange(n_all)
    l_po = rank[l_po]
    lo = np.lexsort((l_mat, l_po))
    l_po, l_mat, l_q, l_r = l_po[lo], l_mat[lo], l_q[lo], l_r[lo]
    po_sup, po_day, po_status, po_prom = (x[po_order] for x in (all_sup, all_day, all_status, all_prom))
    po_rec_day = np.full(n_all, -1, dtype=np.int64)
    po_rec_day[rank[:n_po]] = rec_day

    start = np.concatenate([[0], np.flatnonzero(np.diff(l_po)) + 1])
    l_no = np.arange(len(l_po)) - np.repeat(start, np.diff(np.append(start, len(l_po)))) + 1
    price = round_int(master.price_cur[l_mat, po_day[l_po]] * (1 + rng.normal(0, 0.012, len(l_po))) * 1e4)
    l_net = value_cents(l_q, price)

    # goods receipts: one receipt document per received PO, one row per line
    recv_po = np.flatnonzero(po_status == 1)
    g_order = np.lexsort((recv_po, po_rec_day[recv_po]))
    gr_po = recv_po[g_order]
    gr_day = po_rec_day[gr_po]
    gr_of_po = np.full(n_all, -1)
    gr_of_po[gr_po] = np.arange(len(gr_po))
    rl = np.flatnonzero(po_status[l_po] == 1)
    rl = rl[np.lexsort((l_no[rl], gr_of_po[l_po[rl]]))]
    grl_rec = gr_of_po[l_po[rl]]
    grl_qty = l_r[rl]
    grl_value = value_cents(grl_qty, std_on(master, master.n_fg + l_mat[rl], gr_day[grl_rec]))

    # supplier invoice per receipt document: received qty x PO unit price
    n_gr = len(gr_po)
    si_net = np.bincount(grl_rec, value_cents(grl_qty, price[rl]), n_gr).astype(np.int64)
    de = np.array([c == "DE" for c in master.sup_country])[po_sup[gr_po]]
    si_tax = np.where(de, rdiv(si_net * DE_INPUT_VAT_BP, 10000), 0)
    si_gross = si_net + si_tax
    si_due = gr_day + master.sup_terms[po_sup[gr_po]]
    si_std = np.bincount(grl_rec, grl_value, n_gr).astype(np.int64)

    # supplier payments around the due date; later ones are still open at AS_OF
    pay = cal.next_weekday(si_due + rng.integers(-4, 7, n_gr))
    pay = np.maximum(pay, gr_day + 1)
    paid = np.flatnonzero(pay <= cal.LAST)
    so = np.lexsort((paid, pay[paid]))
    sp_inv = paid[so]

    return Procurement(
        po_sup=po_sup,
        po_day=po_day,
        po_status=po_status,
        pl_po=l_po,
        pl_no=l_no,
        pl_mat=l_mat,
        pl_qty=l_q,
        pl_price=price,
        pl_net=l_net,
        pl_promised=po_prom[l_po],
        gr_po=gr_po,
        gr_day=gr_day,
        grl_rec=grl_rec,
        grl_line=rl,
        grl_qty=grl_qty,
        grl_value=grl_value,
        si_net=si_net,
        si_tax=si_tax,
        si_gross=si_gross,
        si_due=si_due,
        si_std=si_std,
        sp_inv=sp_inv,
        sp_day=pay[sp_inv],
        sp_amt=si_gross[sp_inv],
    )
