"""Make-to-stock production of finished goods and the inventory sub-ledger.

Production is planned backwards from the deliveries: whatever ships in week w was produced (finished)
in week w-1 or earlier, with a safety stock and lot sizes of a few weeks. Because every shipment is
covered by output finished in an earlier week (and the materials of an order arrive in the week
before it starts, see procurement.py), stock can never go negative, by construction. Components are
backflushed: consumption is posted on the finish date, with the output.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import calendar as cal
from .fixed import round_int, value_cents
from .masterdata import Master, std_on

SCRAP_BASE = 0.02  # average scrap rate of good production ...
SCRAP_SHOCK = 0.07  # ... plus this at full shock intensity (substitute castings, rework)
PLANNED_SCRAP_ALLOWANCE = 1.02  # planned quantity = good quantity needed x this
DURATION_DAYS = (1, 4)  # normal start-to-finish days
SHOCK_DELAY_DAYS = 10  # extra days waiting for castings at full shock intensity and exposure 1
CONV_SHOCK = 0.10  # conversion cost overrun at full shock intensity (overtime, changeovers)
SAFETY_WEEKS = 2.0  # finished-goods safety stock in weeks of demand
COVER_WEEKS = 4.0  # a production lot covers ~4 more weeks of demand (few, big batches)


@dataclass
class Production:
    prod: np.ndarray  # finished-good index
    start: np.ndarray
    finish: np.ndarray
    planned: np.ndarray  # units
    actual: np.ndarray
    good: np.ndarray
    scrapped: np.ndarray
    conv_cents: np.ndarray  # actual conversion cost
    cons_order: np.ndarray  # consumption rows: production order index
    cons_mat: np.ndarray  # material index
    cons_qty: np.ndarray  # milli-units consumed
    cons_value: np.ndarray  # cents at standard on the finish date (backflushed)
    out_value: np.ndarray  # cents at standard on the finish date (good units)
    cost_cents: np.ndarray  # actual_cost_eur: consumption at standard + conversion


def _forward_mean(a: np.ndarray, weeks: int) -> np.ndarray:
    """Mean of the next `weeks` columns (inclusive of the current one), per row."""
    c = np.concatenate([np.zeros((a.shape[0], 1)), np.cumsum(a, axis=1)], axis=1)
    n = a.shape[1]
    hi = np.minimum(np.arange(n) + weeks, n)
    return (c[:, hi] - c[:, np.arange(n)]) / weeks


def with_forecast(a: np.ndarray, last_w: int, weeks: int = 10) -> np.ndarray:
    """Weekly requirements extended past AS_OF by the average of the last 8 weeks, so that the
    plan keeps its normal stock levels at the end of the history instead of running down."""
    out = np.zeros((a.shape[0], last_w + 1 + weeks), dtype=float)
    out[:, : last_w + 1] = a[:, : last_w + 1]
    out[:, last_w + 1 :] = a[:, last_w - 7 : last_w + 1].mean(axis=1)[:, None]
    return out


def plan_production(rng, master: Master, ship_prod, ship_day, ship_qty) -> Production:
    n_fg, nw = master.n_fg, cal.N_WEEKS
    demand = np.zeros((n_fg, nw + 1), dtype=np.int64)
    np.add.at(demand, (ship_prod, cal.week_of(ship_day)), ship_qty)
    fwd = _forward_mean(with_forecast(demand, int(cal.week_of(cal.LAST))), 6)
    lot_min = np.maximum(1, np.ceil(fwd.max(axis=1) * 0.5)).astype(np.int64)
    stock = np.zeros(n_fg, dtype=np.int64)
    rows_p, rows_w, rows_q = [], [], []
    first_w = int(cal.week_of(cal.FIRST_SHIP))
    last_w = int(cal.week_of(cal.LAST))
    for w in range(first_w, last_w + 1):
        need = demand[:, w]
        ss = np.ceil(fwd[:, w] * SAFETY_WEEKS).astype(np.int64)
        trig = stock - need < ss
        q = np.where(trig, np.maximum(lot_min, np.ceil(need + ss + fwd[:, w] * COVER_WEEKS - stock)), 0)
        q = q.astype(np.int64)
        idx = np.flatnonzero(q > 0)
        rows_p.append(idx)
        rows_w.append(np.full(len(idx), w - 1))
        rows_q.append(q[idx])
        stock += q - need
    prod = np.concatenate(rows_p)
    pw = np.concatenate(rows_w)
    good = np.concatenate(rows_q)
    n = len(prod)

    finish = cal.week_start(pw) + rng.integers(0, 5, n)
    expo = master.exposure[prod]
    sh = cal.shock(finish)
    # waiting for castings: the whole shop floor is disrupted, exposed products most
    dur = rng.integers(DURATION_DAYS[0], DURATION_DAYS[1] + 1, n) + round_int(
        sh * (0.3 + 0.7 * expo) * rng.uniform(0.5, 1.0, n) * SHOCK_DELAY_DAYS
    )
    start = np.maximum(finish - dur, cal.day(2023, 1, 9))
    rate = SCRAP_BASE * rng.uniform(0.5, 1.5, n) + SCRAP_SHOCK * sh * (0.3 + 0.7 * expo)
    scrapped = rng.binomial(good, np.clip(rate / (1 - rate), 0, 0.5))
    actual = good + scrapped
    planned = np.ceil(good * PLANNED_SCRAP_ALLOWANCE).astype(np.int64)

    order = np.lexsort((prod, finish))  # production order numbers follow the finish date
    prod, start, finish, planned, actual, good, scrapped, sh = (
        x[order] for x in (prod, start, finish, planned, actual, good, scrapped, sh)
    )

    conv_std = master.conv_1e4[prod, cal.QUARTER_OF_DAY[finish]]
    conv = round_int(actual * conv_std / 100.0 * (1 + rng.normal(0.0, 0.04, n) + CONV_SHOCK * sh))

    # material consumption: the bill of materials x actual quantity (scrap consumed material too)
    bom = master.bom_milli[prod]  # (n, n_mat)
    co, cm = np.nonzero(bom)
    cq = bom[co, cm] * actual[co]
    # backflushing: the components are posted when the order is confirmed (finish date), together
    # with the output, so the production journal entry and the movements share one date
    cv = value_cents(cq, std_on(master, master.n_fg + cm, finish[co]))
    out_v = value_cents(good * 1000, std_on(master, prod, finish))
    cost = np.bincount(co, cv, n).astype(np.int64) + conv
    return Production(
        prod=prod,
        start=start,
        finish=finish,
        planned=planned,
        actual=actual,
        good=good,
        scrapped=scrapped,
        conv_cents=conv,
        cons_order=co,
        cons_mat=cm,
        cons_qty=cq,
        cons_value=cv,
        out_value=out_v,
        cost_cents=cost,
    )


# --- inventory movements ----------------------------------------------------------------------
MOVE_TYPES = ["revaluation", "goods_receipt", "production_output", "production_consumption", "sales_issue"]
REF_PREFIX = ["RV", "GR", "PR", "PR", "DL"]  # reference document of each movement type


@dataclass
class Movements:
    prod: np.ndarray  # product index (finished goods first, then materials)
    day: np.ndarray
    mtype: np.ndarray  # index into MOVE_TYPES
    ref: np.ndarray  # reference number (receipt / production order / delivery / revaluation run)
    qty: np.ndarray  # milli-units, signed
    value: np.ndarray  # cents, signed
    # revaluation runs: day and per-run totals for finished goods and materials (for the GL)
    rv_day: np.ndarray
    rv_fg: np.ndarray
    rv_mat: np.ndarray


def movements(master: Master, receipts, prod: Production, issues) -> Movements:
    """Assemble all stock movements and add a revaluation on every standard-cost change date.

    receipts: (material index, day, receipt number, qty milli, value cents)
    issues: (finished-good index, day, delivery number, qty milli, value cents) -- positive values
    """
    r_mat, r_day, r_ref, r_qty, r_val = receipts
    s_prod, s_day, s_ref, s_qty, s_val = issues
    n_fg = master.n_fg
    p = np.concatenate([n_fg + r_mat, prod.prod, n_fg + prod.cons_mat, s_prod])
    d = np.concatenate([r_day, prod.finish, prod.finish[prod.cons_order], s_day])
    t = np.concatenate(
        [
            np.full(len(r_mat), 1),
            np.full(len(prod.prod), 2),
            np.full(len(prod.cons_mat), 3),
            np.full(len(s_prod), 4),
        ]
    )
    ref = np.concatenate([r_ref, np.arange(1, len(prod.prod) + 1), prod.cons_order + 1, s_ref])
    q = np.concatenate([r_qty, prod.good * 1000, -prod.cons_qty, -s_qty])
    v = np.concatenate([r_val, prod.out_value, -prod.cons_value, -s_val])

    # revaluation: on-hand quantity at the start of the change day x (new - old standard cost)
    n_p = len(master.product_id)
    rv_p, rv_d, rv_ref, rv_v = [], [], [], []
    rv_days, rv_fg, rv_mat = [], [], []
    for k, qd in enumerate(cal.QUARTER_STARTS[1:].tolist(), start=1):
        if qd > cal.LAST:
            break
        onhand = np.bincount(p[d < qd], q[d < qd], n_p).astype(np.int64)
        diff = master.std_1e4[:, k] - master.std_1e4[:, k - 1]
        val = value_cents(onhand, diff)
        sel = np.flatnonzero((onhand != 0) & (diff != 0))
        rv_p.append(sel)
        rv_d.append(np.full(len(sel), qd))
        rv_ref.append(np.full(len(sel), cal.yyyymmdd(qd)))
        rv_v.append(val[sel])
        rv_days.append(qd)
        rv_fg.append(int(val[sel][sel < n_fg].sum()))
        rv_mat.append(int(val[sel][sel >= n_fg].sum()))
    p = np.concatenate([p] + rv_p)
    d = np.concatenate([d] + rv_d)
    t = np.concatenate([t] + [np.zeros(len(x), dtype=np.int64) for x in rv_p])
    ref = np.concatenate([ref] + rv_ref)
    q = np.concatenate([q] + [np.zeros(len(x), dtype=np.int64) for x in rv_p])
    v = np.concatenate([v] + rv_v)
    o = np.lexsort((p, ref, t, d))
    return Movements(
        prod=p[o],
        day=d[o],
        mtype=t[o],
        ref=ref[o],
        qty=q[o],
        value=v[o],
        rv_day=np.array(rv_days, dtype=np.int64),
        rv_fg=np.array(rv_fg, dtype=np.int64),
        rv_mat=np.array(rv_mat, dtype=np.int64),
    )
