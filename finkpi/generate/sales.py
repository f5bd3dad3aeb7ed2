"""Order-to-cash: customer ordering behaviour, orders and lines, deliveries, invoices, credit notes,
customer payments and write-offs.

The ordering is simulated week by week because of the feedback loop the metric tree is meant to
find: a late delivery lowers that customer's future order rate (or makes it churn), so the orders
of week w depend on the deliveries experienced before w. Everything inside a week is vectorized.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import calendar as cal
from .fixed import RATE_ONE, rdiv, value_cents
from .masterdata import Customers, Master, list_price_on, std_on

# --- behaviour parameters (documented in docs/sample-company.md) -------------------------------
ORDERS_PER_WEEK = np.array([0.47, 0.108, 0.031])  # mean base order rate per customer, by segment
BASE_ORDERS_PER_SHARD = 9300.0  # expected orders of a shard's customers at base rate (before season,
# growth and service feedback), 2023-01-01 .. AS_OF
LINES_P = np.array(
    [  # P(1..6 lines) by segment
        [0.03, 0.06, 0.11, 0.20, 0.25, 0.35],
        [0.05, 0.08, 0.14, 0.21, 0.24, 0.28],
        [0.08, 0.12, 0.18, 0.22, 0.20, 0.20],
    ]
)
QTY_MEDIAN = np.array([12.0, 5.0, 2.2])  # ordered units per line at a list price of EUR 1,000
LEAD_DAYS = np.array([[14, 35], [10, 24], [5, 15]])  # promised lead time range by segment
CANCEL_P = 0.03
STUCK_P = 0.02  # orders held for 15-60 extra days
BURN_IN_WEEKS = 52
LATE_RATE_FACTOR = 0.65  # a late delivery multiplies the customer's order rate by this ...
LATE_CHURN_P = np.array([0.03, 0.08, 0.12])  # ... and makes it stop ordering (by segment: big
# accounts with many deliveries rarely leave over one late delivery, small ones do)
ONTIME_RECOVERY = 0.04  # an on-time delivery closes this share of the gap back to the normal rate
WEEKLY_RECOVERY = 0.01  # the rate also drifts back by itself (memory fades)
BASE_CHURN_WEEKLY = 0.0005  # churn unrelated to service (~2.6% a year)
SHOCK_LATE = 0.55  # extra probability of a late delivery at full shock intensity and exposure 1
SHORT_SHIP_P = 0.03  # a line is short-shipped ...
SHORT_SHIP_SHOCK = 0.12  # ... more often during the material shortage
DAMAGED_P = 0.02  # a delivery arrives (partly) damaged -> complaint case, maybe a credit note


@dataclass
class Orders:
    cust: np.ndarray
    day: np.ndarray
    n_lines: np.ndarray
    channel: np.ndarray
    promised: np.ndarray  # promised date (all lines of an order share it)
    actual: np.ndarray  # planned/actual delivery date (may be after AS_OF -> still open)
    late: np.ndarray  # actual > promised
    cancelled: np.ndarray
    status: np.ndarray  # 0 open, 1 delivered, 2 cancelled
    # lines (flattened, ordered by order then line number)
    l_order: np.ndarray
    l_no: np.ndarray
    l_prod: np.ndarray  # finished-good index
    l_qty: np.ndarray  # units
    l_price: np.ndarray  # unit price before discount, cents of the order currency
    l_disc: np.ndarray  # discount in whole percent
    l_net: np.ndarray  # cents
    l_start: np.ndarray  # index of the first line of each order


def _weekly_simulation(rng, master: Master, cust: Customers):
    n_c = cust.n
    seg = cust.segment
    # each customer has its own base rate (gamma around the segment mean) and product taste
    rate = ORDERS_PER_WEEK[seg] * rng.gamma(2.5, 1 / 2.5, n_c)
    # Rescale so that every shard expects the same number of orders before feedback effects:
    # without it, a draw with a few extra big accounts moves the volume (and the CSV size) by 10%+.
    weeks_active = np.clip(cal.N_WEEKS - cal.week_of(np.maximum(cust.created, 0)), 0, None)
    rate *= BASE_ORDERS_PER_SHARD / (rate * weeks_active).sum()
    cat_aff = rng.dirichlet(np.full(4, 0.7), n_c)  # affinity to Pumps/Valves/Motors/Controls
    pop = rng.lognormal(0.0, 0.6, master.n_fg)  # product popularity
    logw = np.log(cat_aff[:, master.fg_cat] * pop[None, :] + 1e-12)
    pref_channel = np.select(
        [seg == 0, seg == 1],
        [rng.choice(3, n_c, p=[0.8, 0.2, 0.0]), rng.choice(3, n_c, p=[0.5, 0.35, 0.15])],
        rng.choice(3, n_c, p=[0.15, 0.35, 0.5]),
    )
    cum_lines = np.cumsum(LINES_P, axis=1)
    mult = np.ones(n_c)
    active = np.ones(n_c, dtype=bool)
    # Burn-in: a year of service history before 2023 (no orders written), so that the customers'
    # memory of late deliveries starts in equilibrium instead of decaying through 2023.
    p_late0 = 1 - master.ontime_base[0]
    old = cust.created <= 0
    for _ in range(BURN_IN_WEEKS):
        lam = rate * mult * active * old
        n_late = rng.poisson(lam * p_late0)
        n_ok = rng.poisson(lam * (1 - p_late0))
        mult *= LATE_RATE_FACTOR**n_late
        active &= rng.random(n_c) >= 1 - (1 - LATE_CHURN_P[seg]) ** n_late
        mult += (1 - mult) * (1 - (1 - ONTIME_RECOVERY) ** n_ok)
        mult += (1 - mult) * WEEKLY_RECOVERY
        active &= rng.random(n_c) >= BASE_CHURN_WEEKLY
    pend_c = [[] for _ in range(cal.N_WEEKS + 400)]
    pend_l = [[] for _ in range(cal.N_WEEKS + 400)]
    parts = []
    for w in range(1, cal.N_WEEKS):
        ws = int(cal.week_start(w))
        if pend_c[w]:
            c = np.concatenate(pend_c[w])
            lt = np.concatenate(pend_l[w])
            lc = c[lt]
            np.multiply.at(mult, lc, LATE_RATE_FACTOR)
            active[lc[rng.random(len(lc)) < LATE_CHURN_P[seg[lc]]]] = False
            oc = c[~lt]
            mult[oc] += (1 - mult[oc]) * ONTIME_RECOVERY
        mult += (1 - mult) * WEEKLY_RECOVERY
        active &= rng.random(n_c) >= BASE_CHURN_WEEKLY
        mid = min(ws + 3, cal.LAST)
        lam = rate * cal.season(mid) * cal.growth(mid) * mult * active * (cust.created <= ws)
        k = rng.poisson(lam)
        if not k.any():
            continue
        oc = np.repeat(np.arange(n_c), k)
        n = len(oc)
        n_days = min(5, cal.LAST - ws + 1)
        od = ws + rng.integers(0, n_days, n)
        s = seg[oc]
        nl = (rng.random(n)[:, None] > cum_lines[s]).sum(axis=1) + 1
        # distinct products per order: Gumbel top-k over the customer's product weights
        score = logw[oc] + rng.gumbel(size=(n, master.n_fg))
        top = np.argsort(-score, axis=1, kind="stable")[:, :6]
        mask = np.arange(6)[None, :] < nl[:, None]
        expo = np.where(mask, master.exposure[top], 0.0).max(axis=1)
        lead = rng.integers(LEAD_DAYS[s, 0], LEAD_DAYS[s, 1] + 1)
        promised = np.maximum(cal.next_weekday(od + lead), cal.FIRST_SHIP)
        # on-time propensity of logistics, collapsing with the shock for exposed products
        sh = cal.shock(promised)
        p_late = 1 - master.ontime_base[promised] + SHOCK_LATE * sh * (0.25 + 0.75 * expo)
        late = rng.random(n) < np.clip(p_late, 0.0, 0.95)
        # a few orders get stuck (credit block, missing part) for weeks: the long tail of lateness,
        # and the reason why overdue open orders exist at AS_OF
        stuck = rng.random(n) < STUCK_P
        late |= stuck
        late_days = (
            rng.geometric(0.4, n)
            + rng.poisson(14 * sh * (0.3 + 0.7 * expo))
            + np.where(stuck, rng.integers(15, 61, n), 0)
        )
        early = rng.integers(0, 3, n)
        on_time_day = np.maximum(
            cal.next_weekday(np.maximum(cal.prev_weekday(promised - early), od + 1)), cal.FIRST_SHIP
        )
        on_time_day = np.minimum(on_time_day, promised)
        actual = np.where(late, cal.next_weekday(promised + late_days), on_time_day)
        cancelled = rng.random(n) < CANCEL_P
        channel = np.where(rng.random(n) < 0.85, pref_channel[oc], rng.integers(0, 3, n))
        # the customer experiences the delivery the week after it arrives
        exp_w = cal.week_of(actual) + 1
        ok = (~cancelled) & (actual <= cal.LAST)
        for ew in np.unique(exp_w[ok]):
            sel = ok & (exp_w == ew)
            pend_c[ew].append(oc[sel])
            pend_l[ew].append(late[sel])
        parts.append((oc, od, nl, top, promised, actual, late, cancelled, channel))
    cols = [np.concatenate(x) for x in zip(*parts, strict=True)]
    return cols, cust_disc_for(rng, seg, pref_channel)


def cust_disc_for(rng, seg, pref_channel):
    """Negotiated discount per customer (whole percent): bigger customers, distributors get more."""
    base = np.select(
        [seg == 0, seg == 1],
        [rng.integers(10, 16, len(seg)), rng.integers(4, 9, len(seg))],
        rng.integers(0, 4, len(seg)),
    )
    return base + np.where(pref_channel == 1, 5, 0)


def simulate_orders(rng, master: Master, cust: Customers) -> Orders:
    (oc, od, nl, top, promised, actual, late, cancelled, channel), disc_c = _weekly_simulation(
        rng, master, cust
    )
    order = np.lexsort((oc, od))  # order numbers follow the booking date
    oc, od, nl, top, promised, actual, late, cancelled, channel = (
        x[order] for x in (oc, od, nl, top, promised, actual, late, cancelled, channel)
    )
    status = np.where(cancelled, 2, np.where(actual <= cal.LAST, 1, 0))

    n_o = len(oc)
    l_order = np.repeat(np.arange(n_o), nl)
    l_start = np.concatenate([[0], np.cumsum(nl)[:-1]])
    l_no = np.arange(len(l_order)) - l_start[l_order] + 1
    l_prod = top[l_order, l_no - 1]

    list_cents = list_price_on(master, l_prod, od[l_order])
    seg = cust.segment[oc[l_order]]
    med = QTY_MEDIAN[seg] * (100000.0 / list_cents) ** 0.35
    l_qty = np.maximum(1, np.floor(rng.lognormal(np.log(med), 0.6)).astype(np.int64))
    cur = cust.currency[oc[l_order]]
    r = master.rate[cur, od[l_order]]
    # list price (EUR) converted to the order currency at the booking-date rate, to the cent
    l_price = np.where(cur == 0, list_cents, _div_round(list_cents * RATE_ONE, r))
    l_disc = disc_c[oc[l_order]] + (l_qty >= 20)
    l_net = rdiv(l_qty * l_price * (100 - l_disc), 100)
    return Orders(
        cust=oc,
        day=od,
        n_lines=nl,
        channel=channel,
        promised=promised,
        actual=actual,
        late=late & ~cancelled,
        cancelled=cancelled,
        status=status,
        l_order=l_order,
        l_no=l_no,
        l_prod=l_prod,
        l_qty=l_qty,
        l_price=l_price,
        l_disc=l_disc,
        l_net=l_net,
        l_start=l_start,
    )


def _div_round(a, b):
    """round(a / b) half away from zero for positive int64 arrays a, b."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    return (2 * a + b) // (2 * b)


@dataclass
class Billing:
    # deliveries / invoices (one each per delivered order; same numbering)
    d_order: np.ndarray
    d_day: np.ndarray
    d_damaged: np.ndarray
    d_lines: np.ndarray  # order-line indices of each delivery row (flattened)
    d_line_deliv: np.ndarray  # delivery index of each delivery row
    d_shipped: np.ndarray  # units shipped per delivery row
    issue_value: np.ndarray  # cents at the standard cost valid on the delivery date, per row
    il_net: np.ndarray
    il_tax: np.ndarray
    il_unit_1e4: np.ndarray
    i_net: np.ndarray
    i_tax: np.ndarray
    i_gross: np.ndarray
    i_cust: np.ndarray
    i_cur: np.ndarray
    i_due: np.ndarray
    i_tax_bp: np.ndarray
    # credit notes
    cn_inv: np.ndarray
    cn_day: np.ndarray
    cn_net: np.ndarray
    cn_tax: np.ndarray
    cn_reason: np.ndarray  # 0 price dispute, 1 damaged goods, 2 late delivery penalty
    # customer payments
    p_inv: np.ndarray
    p_day: np.ndarray
    p_amt: np.ndarray
    # write-offs
    w_inv: np.ndarray
    w_day: np.ndarray
    w_amt: np.ndarray


CN_REASONS = ["price dispute", "damaged goods", "late delivery penalty"]
WO_REASONS = ["customer insolvent", "uncollectible after dunning"]


def bill(rng, master: Master, cust: Customers, o: Orders) -> Billing:
    deliv = np.flatnonzero(o.status == 1)
    d_day = o.actual[deliv]
    dorder = np.lexsort((deliv, d_day))  # delivery numbers follow the delivery date
    deliv = deliv[dorder]
    d_day = d_day[dorder]
    n_d = len(deliv)
    nl = o.n_lines[deliv]
    d_line_deliv = np.repeat(np.arange(n_d), nl)
    off = np.arange(len(d_line_deliv)) - np.repeat(np.cumsum(nl) - nl, nl)
    d_lines = o.l_start[deliv][d_line_deliv] + off
    qty = o.l_qty[d_lines]
    short_p = SHORT_SHIP_P + SHORT_SHIP_SHOCK * cal.shock(d_day[d_line_deliv])
    short = (rng.random(len(qty)) < short_p) & (qty >= 2)
    shipped = np.where(
        short, np.maximum(1, np.floor(qty * rng.uniform(0.5, 0.95, len(qty)))).astype(np.int64), qty
    )
    damaged = rng.random(n_d) < DAMAGED_P
    issue_value = value_cents(shipped * 1000, std_on(master, o.l_prod[d_lines], d_day[d_line_deliv]))

    # invoice lines: shipped quantity x net unit price, VAT by the customer's country
    c = o.cust[deliv]
    price = o.l_price[d_lines]
    disc = o.l_disc[d_lines]
    unit_1e4 = price * (100 - disc)  # exact: cents x percent = 1e-4 units
    il_net = rdiv(shipped * unit_1e4, 100)
    tax_bp = cust.tax_bp[c]
    il_tax = rdiv(il_net * tax_bp[d_line_deliv], 10000)
    i_net = np.bincount(d_line_deliv, il_net, n_d).astype(np.int64)
    i_tax = np.bincount(d_line_deliv, il_tax, n_d).astype(np.int64)
    # bincount works in float64: exact for integer cents below 2**53
    i_gross = i_net + i_tax
    i_due = d_day + cust.terms[c]
    i_cur = cust.currency[c]

    # --- credit notes: damaged goods, late-delivery penalties, price disputes -----------------------
    late = o.late[deliv]
    u = rng.random(n_d)
    cn_reason = np.full(n_d, -1)
    cn_reason[damaged & (u < 0.5)] = 1
    cn_reason[(cn_reason < 0) & late & (u < 0.06)] = 2
    cn_reason[(cn_reason < 0) & (rng.random(n_d) < 0.012)] = 0
    cn_day = d_day + rng.integers(3, 31, n_d)
    has_cn = (cn_reason >= 0) & (cn_day <= cal.LAST)
    cn_inv = np.flatnonzero(has_cn)
    pct = rng.integers(5, 31, n_d)
    cn_net = rdiv(i_net * pct, 100)[cn_inv]
    cn_tax = rdiv(cn_net * tax_bp[cn_inv], 10000)
    cn_day_i = cn_day[cn_inv]
    cn_reason = cn_reason[cn_inv]
    credited = np.zeros(n_d, dtype=np.int64)
    credited[cn_inv] = cn_net + cn_tax

    # --- payments: customer payment habits, a few defaults ------------------------------------------
    habit = rng.choice(3, cust.n, p=[0.62, 0.28, 0.10])  # punctual, slow, very slow payers
    h = habit[c]
    delay = np.select(
        [h == 0, h == 1],
        [rng.integers(-8, 4, n_d), 5 + rng.exponential(12, n_d).astype(np.int64)],
        20 + rng.exponential(25, n_d).astype(np.int64),
    )
    pay_day = cal.next_weekday(i_due + delay)
    pay_day = np.where(has_cn, np.maximum(pay_day, cn_day + 1), pay_day)  # credit first, then pay
    pay_day = np.maximum(pay_day, d_day + 1)
    p_default = np.where(h == 2, 0.03, 0.004) * np.where(cust.segment[c] == 2, 1.5, 1.0)
    default = rng.random(n_d) < p_default
    open_amt = i_gross - credited
    part_pct = np.where(rng.random(n_d) < 0.3, 0, rng.integers(10, 71, n_d))
    part_amt = rdiv(open_amt * part_pct, 100)
    part_day = np.maximum(cal.next_weekday(i_due + rng.integers(20, 61, n_d)), d_day + 1)
    part_day = np.where(has_cn, np.maximum(part_day, cn_day + 1), part_day)
    wo_day = cal.next_weekday(i_due + rng.integers(120, 241, n_d))

    full = (~default) & (pay_day <= cal.LAST) & (open_amt > 0)
    part = default & (part_amt > 0) & (part_day <= cal.LAST)
    p_inv = np.concatenate([np.flatnonzero(full), np.flatnonzero(part)])
    p_day = np.concatenate([pay_day[full], part_day[part]])
    p_amt = np.concatenate([open_amt[full], part_amt[part]])
    po = np.lexsort((p_inv, p_day))
    p_inv, p_day, p_amt = p_inv[po], p_day[po], p_amt[po]
    wo = default & (wo_day <= cal.LAST) & (open_amt - part_amt > 0)
    w_inv = np.flatnonzero(wo)
    w_day = wo_day[wo]
    w_amt = (open_amt - np.where(part, part_amt, 0))[wo]
    wo_o = np.lexsort((w_inv, w_day))
    w_inv, w_day, w_amt = w_inv[wo_o], w_day[wo_o], w_amt[wo_o]
    co = np.lexsort((cn_inv, cn_day_i))

    return Billing(
        d_order=deliv,
        d_day=d_day,
        d_damaged=damaged,
        d_lines=d_lines,
        d_line_deliv=d_line_deliv,
        d_shipped=shipped,
        issue_value=issue_value,
        il_net=il_net,
        il_tax=il_tax,
        il_unit_1e4=unit_1e4,
        i_net=i_net,
        i_tax=i_tax,
        i_gross=i_gross,
        i_cust=c,
        i_cur=i_cur,
        i_due=i_due,
        i_tax_bp=tax_bp,
        cn_inv=cn_inv[co],
        cn_day=cn_day_i[co],
        cn_net=cn_net[co],
        cn_tax=cn_tax[co],
        cn_reason=cn_reason[co],
        p_inv=p_inv,
        p_day=p_day,
        p_amt=p_amt,
        w_inv=w_inv,
        w_day=w_day,
        w_amt=w_amt,
    )
