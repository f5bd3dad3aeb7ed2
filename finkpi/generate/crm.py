"""Salesforce-style CRM: accounts, contacts, leads, opportunities and cases.

The CRM is typed by people, so the link to the ERP is imperfect on purpose: the ERP customer number
is often missing or written differently, and names differ in case, punctuation and legal-form
spelling. Cases carry the service cause and effect: late deliveries raise complaints.
Timestamps are UTC minutes internally and printed in the record's time zone with its UTC offset at
that instant (DST-aware, from the IANA tables via zoneinfo).
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo

import numpy as np

from finkpi.sources import crm as crm_source

from . import calendar as cal
from . import names
from .masterdata import (
    COUNTRIES,
    FG_CATEGORIES,
    PROSPECTS_PER_SHARD,
    REGION_TZ,
    REGION_WEIGHTS,
    Customers,
    Master,
    company_name,
    pick_country,
)
from .writer import NA

ZONES = ["Europe/Berlin", "America/New_York", "Asia/Shanghai"]
EPOCH_DAYS = (cal.START - _dt.date(1970, 1, 1)).days  # day 0 of the generator in Unix days

P_COMPLAINT_LATE = 0.35  # a late delivery opens a "Late delivery" complaint with this probability
P_COMPLAINT_ONTIME = 0.03  # ... an on-time delivery (perceived late, wrong expectations)
P_COMPLAINT_DAMAGED = 0.9
P_WRONG_ITEM = 0.004
P_INVOICE_QUERY = 0.02
SERVICE_REQUESTS_PER_YEAR = 0.35  # per account that buys
QUESTIONS_PER_YEAR = 0.15  # per account
ACCOUNT_COVERAGE = 0.97  # share of ERP customers that have a CRM account
ERP_NO_EXACT, ERP_NO_VARIANT = 0.70, 0.15  # the rest (~15%) leave the ERP number empty

STAGES = list(crm_source.STAGE_NAMES)
STAGE_PROB = [10, 20, 50, 75, 100, 0]
LEAD_STATUS = ["Open", "Working", "Qualified", "Unqualified", "Converted"]
LEAD_SOURCE = ["Web", "Trade Show", "Referral", "Partner"]
CASE_TYPE = ["Complaint", "Service Request", "Question"]
CASE_REASON = ["Late delivery", "Damaged goods", "Wrong item", "Invoice query", "Other"]
PRIORITY = list(crm_source.CASE_PRIORITIES)
CASE_STATUS = list(crm_source.CASE_STATUSES)
ORIGIN = ["Email", "Phone", "Web"]
ACCOUNT_TYPE = ["Customer", "Prospect", "Partner"]
KEY_PREFIX = {"Account": "001", "Contact": "003", "Lead": "00Q", "Opportunity": "006", "Case": "500"}

# legal form -> spellings people type that normalize to the same letters
LEGAL_VARIANTS = {
    "GmbH": ["Gmbh", "gmbh.", "GMBH", "G.m.b.H."],
    "AG": ["Ag", "A.G."],
    "KG": ["Kg", "K.G."],
    "GmbH & Co. KG": ["GmbH & Co KG", "Gmbh & Co. Kg", "GmbH&Co.KG"],
    "SAS": ["S.A.S.", "Sas"],
    "SARL": ["S.A.R.L.", "Sarl"],
    "S.A.": ["SA", "S.A"],
    "B.V.": ["BV", "B.V", "bv"],
    "N.V.": ["NV", "nv"],
    "S.r.l.": ["Srl", "SRL", "S.R.L."],
    "S.p.A.": ["SpA", "SPA", "S.P.A."],
    "S.L.": ["SL", "S.L"],
    "Ltd": ["Ltd.", "LTD", "ltd"],
    "Ltd.": ["Ltd", "LTD."],
    "PLC": ["Plc", "plc"],
    "AB": ["Ab", "A.B."],
    "A/S": ["AS", "A.S."],
    "ApS": ["APS", "Aps"],
    "Oy": ["OY", "Oy."],
    "Oyj": ["OYJ", "Oyj."],
    "AS": ["A/S", "As"],
    "ASA": ["Asa", "A.S.A."],
    "Inc.": ["Inc", "INC", "inc."],
    "LLC": ["L.L.C.", "Llc"],
    "Corp.": ["Corp", "CORP"],
    "Co., Ltd.": ["Co Ltd", "Co.,Ltd", "co., ltd."],
    "K.K.": ["KK", "kk"],
    "Pte. Ltd.": ["Pte Ltd", "PTE LTD"],
    "Pty Ltd": ["Pty. Ltd.", "PTY LTD"],
    "Pty. Ltd.": ["Pty Ltd", "pty ltd"],
}


def normalize_name(s: str) -> str:
    """The documented matching key for names: lower case, letters and digits only."""
    return re.sub(r"[^a-z0-9]", "", s.lower())


# --- time zones -----------------------------------------------------------------------------------


@cache
def _transitions(zone: str) -> tuple[np.ndarray, np.ndarray]:
    """UTC minutes at which the zone's offset changes (2010..2027) and the offset from then on."""
    tz = ZoneInfo(zone)
    utc = _dt.UTC

    def off(t: _dt.datetime) -> int:
        return int(t.astimezone(tz).utcoffset().total_seconds() // 60)

    t0 = _dt.datetime(2010, 1, 1, tzinfo=utc)
    times, offs = [-(2**62)], [off(t0)]
    d = t0
    while d.year < 2028:
        nxt = d + _dt.timedelta(days=1)
        if off(nxt) != off(d):
            h = d
            while off(h) == off(d):
                h += _dt.timedelta(hours=1)
            times.append(int(h.timestamp() // 60))
            offs.append(off(h))
        d = nxt
    return np.array(times, dtype=np.int64), np.array(offs, dtype=np.int64)


def offset_at(zone_idx: np.ndarray, utc_min: np.ndarray) -> np.ndarray:
    """UTC offset in minutes of each instant in each record's zone."""
    zone_idx = np.asarray(zone_idx)
    utc_min = np.asarray(utc_min, dtype=np.int64)
    out = np.zeros(len(utc_min), dtype=np.int64)
    for z, name in enumerate(ZONES):
        sel = zone_idx == z
        if sel.any():
            t, o = _transitions(name)
            out[sel] = o[np.searchsorted(t, utc_min[sel], side="right") - 1]
    return out


def local_to_utc(zone_idx, day, minute_of_day) -> np.ndarray:
    """Local wall-clock time (day number, minute of day) -> UTC minutes. Valid for daytime hours
    (DST switches happen at night, so the offset at the local time is unambiguous)."""
    local = (EPOCH_DAYS + np.asarray(day, dtype=np.int64)) * 1440 + np.asarray(minute_of_day, dtype=np.int64)
    guess = local - offset_at(zone_idx, local)
    return local - offset_at(zone_idx, guess)


def local_cutoff(zone_idx) -> np.ndarray:
    """AS_OF 23:59 local time, in UTC minutes, per record: nothing may happen after it."""
    return local_to_utc(zone_idx, np.full(len(zone_idx), cal.LAST), 23 * 60 + 59)


def ts_cols(zone_idx, utc_min):
    """(local minutes, offset) as the writer's `ts` column wants it; NA stays NA."""
    utc_min = np.asarray(utc_min, dtype=np.int64)
    off = offset_at(zone_idx, np.where(utc_min == NA, 0, utc_min))
    return np.where(utc_min == NA, NA, utc_min + off), off


# --- Salesforce record ids ----------------------------------------------------------------------

_B62 = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", dtype=np.uint8)
_SUFFIX = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", dtype=np.uint8)


def sf_ids(obj: str, shard: int, seq: np.ndarray) -> np.ndarray:
    """Deterministic 18-character Salesforce ids: key prefix + '5J' + '0' + 9 base62 digits, plus the
    3-character case-safety suffix computed the way Salesforce does."""
    n = len(seq)
    num = (np.int64(shard) + 1) * np.int64(10**9) + np.asarray(seq, dtype=np.int64) * 7 + 1_000_003
    m = np.empty((n, 18), dtype=np.uint8)
    m[:, 0:3] = np.frombuffer(KEY_PREFIX[obj].encode(), dtype=np.uint8)
    m[:, 3:6] = np.frombuffer(b"5J0", dtype=np.uint8)
    for k in range(14, 5, -1):
        m[:, k] = _B62[num % 62]
        num //= 62
    upper = (m[:, :15] >= ord("A")) & (m[:, :15] <= ord("Z"))
    for chunk in range(3):
        bits = (upper[:, chunk * 5 : chunk * 5 + 5] * (1 << np.arange(5))).sum(axis=1)
        m[:, 15 + chunk] = _SUFFIX[bits]
    return m.view("S18").ravel().astype(str).astype(object)


# --- CRM generation -----------------------------------------------------------------------------


@dataclass
class Crm:
    tables: dict
    cases_per_month: np.ndarray


def _name_variant(rng, name: str, legal: str) -> str:
    base = name[: len(name) - len(legal)].rstrip()
    k = int(rng.integers(0, 5))
    if k <= 1 and legal in LEGAL_VARIANTS:
        opts = LEGAL_VARIANTS[legal]
        return f"{base} {opts[int(rng.integers(0, len(opts)))]}"
    if k == 2:
        return name.upper()
    if k == 3:
        return base.replace(" ", "-", 1) + " " + legal
    return f"{base}  {legal.lower()}"


def _erp_variant(rng, cid: str) -> str:
    digits = cid[1:]
    k = int(rng.integers(0, 8))
    return [
        f"c{digits}",
        f"C-{digits}",
        f"c-{digits}",
        f" {cid}",
        f"C{int(digits)}",
        f"{int(digits)}",
        f"{cid} ",
        f"C {digits}",
    ][k]


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())[:14]


def _times(rng, n):
    return rng.integers(8 * 60, 18 * 60, n)  # local office hours


def make_crm(rng, master: Master, cust: Customers, cust_ids: list[str], orders, billing, shard: int) -> Crm:
    o, b = orders, billing
    n_c = cust.n
    # ------------------------------------------------------------------ accounts
    has_acc = rng.random(n_c) < ACCOUNT_COVERAGE
    ci = np.flatnonzero(has_acc)
    u = rng.random(n_c)
    main_channel = np.zeros(n_c, dtype=np.int64)
    if len(o.cust):
        cnt = np.zeros((n_c, 3), dtype=np.int64)
        np.add.at(cnt, (o.cust, o.channel), 1)
        main_channel = cnt.argmax(axis=1)
    acc_name, acc_erp, acc_country, acc_type, acc_created, acc_zone = [], [], [], [], [], []
    crm_rollout = cal.day(2018, 3, 1)
    for c in ci:
        nm, lg, cid = cust.name[c], cust.legal[c], cust_ids[c]
        if u[c] < ERP_NO_EXACT:
            erp = cid
            show = nm if rng.random() < 0.8 else _name_variant(rng, nm, lg)
        elif u[c] < ERP_NO_EXACT + ERP_NO_VARIANT:
            erp = _erp_variant(rng, cid)
            show = nm if rng.random() < 0.5 else _name_variant(rng, nm, lg)
        else:
            erp = ""
            show = _name_variant(rng, nm, lg) if rng.random() < 0.7 else nm
        created = int(cust.created[c])
        if created < crm_rollout:
            d = crm_rollout + int(rng.integers(0, 180))
        else:
            d = created - int(rng.integers(0, 46))
        acc_name.append(show)
        acc_erp.append(erp)
        acc_country.append(cust.country[c])
        acc_type.append(2 if (main_channel[c] == 1 and rng.random() < 0.6) else 0)
        acc_created.append(d)
        acc_zone.append(REGION_TZ_IDX[cust.region[c]])
    # prospects: own name range (never equal to a customer's normalized name)
    n_pr = PROSPECTS_PER_SHARD
    pr_region = rng.choice(5, size=n_pr, p=REGION_WEIGHTS)
    pr_country = pick_country(rng, pr_region)
    for k in range(n_pr):
        forms = COUNTRIES[pr_country[k]][4]
        acc_name.append(company_name(shard * 1000 + 600 + k, forms[int(rng.integers(0, len(forms)))]))
        acc_erp.append("")
        acc_country.append(pr_country[k])
        acc_type.append(1)
        acc_created.append(int(rng.integers(cal.day(2018, 6, 1), cal.LAST - 20)))
        acc_zone.append(REGION_TZ_IDX[pr_region[k]])
    acc_cust = np.concatenate([ci, -np.ones(n_pr, dtype=np.int64)])
    acc_created = np.array(acc_created, dtype=np.int64)
    acc_zone = np.array(acc_zone, dtype=np.int64)
    acc_utc = local_to_utc(acc_zone, acc_created, _times(rng, len(acc_created)))
    a_ord = np.lexsort((np.arange(len(acc_utc)), acc_utc))  # ids follow creation time
    n_a = len(a_ord)
    a_rank = np.empty(n_a, dtype=np.int64)
    a_rank[a_ord] = np.arange(n_a)
    acc_id = sf_ids("Account", shard, np.arange(n_a))[a_rank]  # id by creation order
    acc_of_cust = np.full(n_c, -1)
    acc_of_cust[ci] = np.arange(len(ci))
    industry = rng.integers(0, len(names.INDUSTRIES), n_a)

    # ------------------------------------------------------------------ contacts
    n_ct_per = rng.choice([1, 2, 3], size=n_a, p=[0.45, 0.35, 0.2])
    ct_acc = np.repeat(np.arange(n_a), n_ct_per)
    n_ct = len(ct_acc)
    fn = rng.integers(0, len(names.FIRST_NAMES), n_ct)
    ln = rng.integers(0, len(names.LAST_NAMES), n_ct)
    ct_day = np.minimum(acc_created[ct_acc] + rng.integers(0, 200, n_ct), cal.LAST)
    ct_day = np.where(
        np.arange(n_ct) == np.repeat(np.cumsum(n_ct_per) - n_ct_per, n_ct_per), acc_created[ct_acc], ct_day
    )  # the first contact comes with the account
    ct_utc = np.maximum(local_to_utc(acc_zone[ct_acc], ct_day, _times(rng, n_ct)), acc_utc[ct_acc] + 1)
    ct_first = [names.FIRST_NAMES[i] for i in fn]
    ct_last = [names.LAST_NAMES[i] for i in ln]
    ct_email = [
        f"{_slug(f)}.{_slug(s)}@{_slug(acc_name[a])}.example.com"
        for f, s, a in zip(ct_first, ct_last, ct_acc, strict=True)
    ]
    ct_phone = [_phone(rng, acc_country[a]) for a in ct_acc]
    ct_title = rng.integers(0, len(names.TITLES), n_ct)
    c_ord = np.lexsort((np.arange(n_ct), ct_utc))
    c_rank = np.empty(n_ct, dtype=np.int64)
    c_rank[c_ord] = np.arange(n_ct)
    ct_id = sf_ids("Contact", shard, np.arange(n_ct))[c_rank]
    ct_start = np.cumsum(n_ct_per) - n_ct_per

    # ------------------------------------------------------------------ leads
    conv_acc = np.flatnonzero(acc_created >= cal.day(2023, 2, 1))  # accounts born from a lead
    n_lead = 2000
    n_other = max(0, n_lead - len(conv_acc))
    other_status = rng.choice(4, size=n_other, p=[0.12, 0.12, 0.14, 0.62])
    oth_day = rng.integers(0, cal.LAST + 1, n_other)
    recent = other_status <= 1  # Open / Working leads are young
    oth_day = np.where(recent, cal.LAST - rng.integers(0, 120, n_other), oth_day)
    cv_day = np.maximum(acc_created[conv_acc] - rng.integers(10, 90, len(conv_acc)), 0)
    l_day = np.concatenate([cv_day, oth_day])
    l_status = np.concatenate([np.full(len(conv_acc), 4), other_status])
    l_conv = np.concatenate([conv_acc, -np.ones(n_other, dtype=np.int64)])
    l_zone = np.concatenate([acc_zone[conv_acc], rng.choice(3, n_other, p=[0.72, 0.16, 0.12])])
    l_utc = local_to_utc(l_zone, l_day, _times(rng, len(l_day)))
    l_utc = np.where(l_conv >= 0, np.minimum(l_utc, acc_utc[np.maximum(l_conv, 0)] - 60), l_utc)
    nl_ = len(l_day)
    lfn = rng.integers(0, len(names.FIRST_NAMES), nl_)
    lln = rng.integers(0, len(names.LAST_NAMES), nl_)
    l_company = []
    for k in range(nl_):
        if l_conv[k] >= 0:
            l_company.append(acc_name[l_conv[k]])
        else:
            s = names.STEMS[int(rng.integers(0, len(names.STEMS)))]
            w = names.WORDS[int(rng.integers(0, len(names.WORDS)))]
            l_company.append(f"{s} {w}")
    l_first = [names.FIRST_NAMES[i] for i in lfn]
    l_last = [names.LAST_NAMES[i] for i in lln]
    l_email = [
        f"{_slug(f)}.{_slug(s)}@{_slug(c)}.example.org"
        for f, s, c in zip(l_first, l_last, l_company, strict=True)
    ]
    l_phone = [_phone(rng, "DE" if z == 0 else "US" if z == 1 else "CN") for z in l_zone]
    l_source = rng.integers(0, len(LEAD_SOURCE), nl_)
    ld_ord = np.lexsort((np.arange(nl_), l_utc))
    ld_rank = np.empty(nl_, dtype=np.int64)
    ld_rank[ld_ord] = np.arange(nl_)
    lead_id = sf_ids("Lead", shard, np.arange(nl_))[ld_rank]

    # ------------------------------------------------------------------ opportunities
    seg_p = np.array([0.40, 0.25, 0.08])  # share of orders that went through an opportunity
    oc_acc = acc_of_cust[o.cust]
    won_sel = np.flatnonzero(
        (~o.cancelled) & (oc_acc >= 0) & (rng.random(len(o.cust)) < seg_p[cust.segment[o.cust]])
    )
    order_net = np.bincount(o.l_order, o.l_net, len(o.cust)).astype(np.int64)
    first_cat = master.fg_cat[o.l_prod[o.l_start]]
    w_acc = oc_acc[won_sel]
    w_close = np.maximum(o.day[won_sel] - rng.integers(0, 11, len(won_sel)), cal.day(2022, 12, 1))
    w_amt = order_net[won_sel]
    w_cur = cust.currency[o.cust[won_sel]]
    w_cat = first_cat[won_sel]
    n_won = len(won_sel)
    n_lost = int(round(1.4 * n_won))
    weights = np.bincount(np.maximum(oc_acc, 0), minlength=n_a).astype(float) + 1.0
    weights[len(ci) :] += 2.0  # prospects mostly lose (they are still prospects)
    lost_acc = rng.choice(n_a, size=n_lost, p=weights / weights.sum())
    lo_day = rng.integers(cal.day(2023, 1, 15), cal.LAST + 1, n_lost)
    lo_close = np.maximum(lo_day, acc_created[lost_acc] + 20)
    pool = w_amt if len(w_amt) else np.array([100000])  # lost deals look like won ones in size
    lo_amt = (rng.choice(pool, n_lost) * rng.uniform(0.6, 1.6, n_lost)).astype(np.int64) // 100 * 100
    lo_cur = _acc_currency(acc_cust, cust, acc_country, lost_acc)
    lo_cat = rng.integers(0, 4, n_lost)
    n_open = int(round(0.15 * n_won)) + 150
    op_acc = rng.choice(n_a, size=n_open, p=weights / weights.sum())
    op_close = cal.LAST + rng.integers(-25, 121, n_open)  # expected close; some already overdue
    op_amt = (rng.choice(pool, n_open) * rng.uniform(0.6, 1.6, n_open)).astype(np.int64) // 100 * 100
    op_cur = _acc_currency(acc_cust, cust, acc_country, op_acc)
    op_cat = rng.integers(0, 4, n_open)
    op_stage = rng.choice(4, size=n_open, p=[0.3, 0.3, 0.25, 0.15])

    opp_acc = np.concatenate([w_acc, lost_acc, op_acc])
    opp_close = np.concatenate([w_close, lo_close, op_close])
    opp_amt = np.concatenate([w_amt, lo_amt, op_amt])
    opp_cur = np.concatenate([w_cur, lo_cur, op_cur])
    opp_cat = np.concatenate([w_cat, lo_cat, op_cat])
    opp_stage = np.concatenate([np.full(n_won, 4), np.full(n_lost, 5), op_stage])
    n_opp = len(opp_acc)
    age = rng.integers(14, 121, n_opp)
    young = np.minimum(cal.LAST - rng.integers(0, 150, n_opp), opp_close - 7)  # open deals are recent
    opp_cday = np.where(opp_stage <= 3, young, opp_close - age)
    opp_cday = np.maximum(opp_cday, acc_created[opp_acc])
    opp_cday = np.minimum(opp_cday, np.minimum(opp_close - 1, cal.LAST))
    opp_utc = np.maximum(local_to_utc(acc_zone[opp_acc], opp_cday, _times(rng, n_opp)), acc_utc[opp_acc] + 1)
    # CreatedDate must stay before the close date and AS_OF in the record's zone
    opp_utc = np.minimum(opp_utc, local_to_utc(acc_zone[opp_acc], np.minimum(opp_close, cal.LAST + 1), 0) - 1)
    op_ord = np.lexsort((np.arange(n_opp), opp_utc))
    op_rank = np.empty(n_opp, dtype=np.int64)
    op_rank[op_ord] = np.arange(n_opp)
    opp_id = sf_ids("Opportunity", shard, np.arange(n_opp))[op_rank]
    opp_year = cal.YEAR[np.clip(opp_close, 0, len(cal.YEAR) - 1)]
    short = [" ".join(n.split()[:2]) for n in acc_name]
    opp_name = [
        f"{short[a]} - {FG_CATEGORIES[c]} {y}" for a, c, y in zip(opp_acc, opp_cat, opp_year, strict=True)
    ]

    # ------------------------------------------------------------------ cases
    cs = _cases(rng, o, b, acc_of_cust, n_a, acc_created)
    c_acc, c_type, c_reason, c_prio, c_order, c_day = cs
    n_cs = len(c_acc)
    c_zone = acc_zone[c_acc]
    c_utc = local_to_utc(c_zone, c_day, _times(rng, n_cs))
    c_utc = np.maximum(c_utc, acc_utc[c_acc] + 1)
    mean_h = np.array([20.0, 10.0, 4.0])[c_prio]
    first = c_utc + 5 + (rng.exponential(1.0, n_cs) * mean_h * 60).astype(np.int64)
    res_days = np.where(c_type == 0, 5.0, 3.0)
    closed = first + 30 + (rng.exponential(1.0, n_cs) * res_days * 1440).astype(np.int64)
    cut = local_cutoff(c_zone)
    keep = c_utc <= cut
    status = np.where(closed <= cut, 2, np.where(first <= cut, 1, 0))
    first = np.where(first <= cut, first, NA)
    closed = np.where(closed <= cut, closed, NA)
    # contact: one of the account's contacts
    c_contact = ct_start[c_acc] + (rng.integers(0, 3, n_cs) % n_ct_per[c_acc])
    origin = rng.choice(3, size=n_cs, p=[0.5, 0.35, 0.15])
    sel = np.flatnonzero(keep)
    sel = sel[np.lexsort((sel, c_utc[sel]))]  # case numbers follow creation time
    cases_per_month = np.bincount(cal.MONTH_INDEX[np.clip(c_day[sel], 0, None)], minlength=cal.N_MONTHS)[
        : cal.N_MONTHS
    ]

    tables = {
        "Account": dict(
            Id=acc_id,
            Name=acc_name,
            ERP_Customer_Number__c=acc_erp,
            BillingCountry=[COUNTRIES[c][0] for c in acc_country],
            Industry=[names.INDUSTRIES[i] for i in industry],
            Type=np.array(acc_type),
            CreatedDate=(acc_zone, acc_utc),
            _order=a_ord,
        ),
        "Contact": dict(
            Id=ct_id,
            AccountId=acc_id[ct_acc],
            FirstName=ct_first,
            LastName=ct_last,
            Email=ct_email,
            Phone=ct_phone,
            Title=[names.TITLES[i] for i in ct_title],
            CreatedDate=(acc_zone[ct_acc], ct_utc),
            _order=c_ord,
        ),
        "Lead": dict(
            Id=lead_id,
            FirstName=l_first,
            LastName=l_last,
            Company=l_company,
            Email=l_email,
            Phone=l_phone,
            Status=l_status,
            LeadSource=l_source,
            IsConverted=l_status == 4,
            ConvertedAccountId=np.array([acc_id[a] if a >= 0 else "" for a in l_conv], dtype=object),
            CreatedDate=(l_zone, l_utc),
            _order=ld_ord,
        ),
        "Opportunity": dict(
            Id=opp_id,
            AccountId=acc_id[opp_acc],
            Name=opp_name,
            StageName=opp_stage,
            Amount=opp_amt,
            CurrencyIsoCode=opp_cur,
            Probability=np.array(STAGE_PROB)[opp_stage] * 100,
            IsClosed=opp_stage >= 4,
            IsWon=opp_stage == 4,
            CreatedDate=(acc_zone[opp_acc], opp_utc),
            CloseDate=opp_close,
            _order=op_ord,
        ),
        "Case": dict(
            Id=sf_ids("Case", shard, np.arange(len(sel))),
            CaseNumber=np.arange(1, len(sel) + 1),
            AccountId=acc_id[c_acc[sel]],
            ContactId=ct_id[c_contact[sel]],
            Type=c_type[sel],
            Reason=c_reason[sel],
            Priority=c_prio[sel],
            Status=status[sel],
            Origin=origin[sel],
            ERP_Order_Number__c=c_order[sel],
            TimeZoneSidKey=c_zone[sel],
            CreatedDate=(c_zone[sel], c_utc[sel]),
            First_Response_Date__c=(c_zone[sel], first[sel]),
            ClosedDate=(c_zone[sel], closed[sel]),
            _order=np.arange(len(sel)),
        ),
    }
    return Crm(tables=tables, cases_per_month=cases_per_month)


REGION_TZ_IDX = np.array([ZONES.index(z) for z in REGION_TZ])


def _acc_currency(acc_cust, cust: Customers, acc_country, acc):
    out = np.empty(len(acc), dtype=np.int64)
    for k, a in enumerate(acc):
        c = acc_cust[a]
        out[k] = cust.currency[c] if c >= 0 else COUNTRIES[acc_country[a]][2]
    return out


def _phone(rng, country: str) -> str:
    code = COUNTRIES[country][5] if country in COUNTRIES else "+49"
    return f"{code} {int(rng.integers(20, 99))} 555 {int(rng.integers(0, 10000)):04d}"


def _cases(rng, o, b, acc_of_cust, n_a, acc_created):
    """Case drivers: complaints from late / damaged / wrong deliveries, invoice queries, service
    requests and questions. Returns (account, type, reason, priority, order number or -1, day)."""
    parts = []
    # late-delivery complaints (delivered orders): the cause-and-effect link 1
    d_ord = b.d_order
    d_acc = acc_of_cust[o.cust[d_ord]]
    late = o.late[d_ord]
    p = np.where(late, P_COMPLAINT_LATE, P_COMPLAINT_ONTIME)
    hit = (rng.random(len(d_ord)) < p) & (d_acc >= 0)
    days_late = o.actual[d_ord] - o.promised[d_ord]
    when_late = (
        o.promised[d_ord] + 1 + (rng.random(len(d_ord)) * np.clip(days_late + 1, 1, 10)).astype(np.int64)
    )
    when_ok = b.d_day + rng.integers(0, 6, len(d_ord))
    day = np.where(late, when_late, when_ok)
    prio = np.where(late & (days_late > 7), 2, 1)
    parts.append((d_acc[hit], 0, 0, prio[hit], d_ord[hit], day[hit]))
    # open orders already past their promised date
    ov = np.flatnonzero((o.status == 0) & (o.promised < cal.LAST))
    ov_acc = acc_of_cust[o.cust[ov]]
    hit = (rng.random(len(ov)) < P_COMPLAINT_LATE) & (ov_acc >= 0)
    span = cal.LAST - o.promised[ov]
    day = o.promised[ov] + 1 + (rng.random(len(ov)) * span).astype(np.int64)
    parts.append((ov_acc[hit], 0, 0, np.full(hit.sum(), 2), ov[hit], day[hit]))
    # damaged goods / wrong item
    hit = b.d_damaged & (rng.random(len(d_ord)) < P_COMPLAINT_DAMAGED) & (d_acc >= 0)
    parts.append(
        (
            d_acc[hit],
            0,
            1,
            np.where(rng.random(hit.sum()) < 0.4, 2, 1),
            d_ord[hit],
            b.d_day[hit] + rng.integers(0, 5, hit.sum()),
        )
    )
    hit = (rng.random(len(d_ord)) < P_WRONG_ITEM) & (d_acc >= 0)
    parts.append(
        (d_acc[hit], 0, 2, np.full(hit.sum(), 1), d_ord[hit], b.d_day[hit] + rng.integers(0, 6, hit.sum()))
    )
    # invoice queries
    hit = (rng.random(len(d_ord)) < P_INVOICE_QUERY) & (d_acc >= 0)
    parts.append(
        (d_acc[hit], 2, 3, np.full(hit.sum(), 0), d_ord[hit], b.d_day[hit] + rng.integers(3, 41, hit.sum()))
    )
    # service requests and general questions over the account's life
    years = (cal.LAST - np.maximum(acc_created, 0)) / 365.25
    buyers = np.zeros(n_a, dtype=bool)
    buyers[d_acc[d_acc >= 0]] = True
    for typ, rate in ((1, SERVICE_REQUESTS_PER_YEAR), (2, QUESTIONS_PER_YEAR)):
        k = rng.poisson(np.where(buyers | (typ == 2), rate * years, 0))
        acc = np.repeat(np.arange(n_a), k)
        lo = np.maximum(acc_created[acc], 0)
        day = lo + (rng.random(len(acc)) * (cal.LAST + 1 - lo)).astype(np.int64)
        parts.append(
            (acc, typ, 4, rng.choice(3, len(acc), p=[0.5, 0.4, 0.1]), -np.ones(len(acc), dtype=np.int64), day)
        )
    acc = np.concatenate([x[0] for x in parts])
    typ = np.concatenate([np.broadcast_to(x[1], len(x[0])) for x in parts])
    reason = np.concatenate([np.broadcast_to(x[2], len(x[0])) for x in parts])
    prio = np.concatenate([np.broadcast_to(x[3], len(x[0])) for x in parts])
    order = np.concatenate([x[4] for x in parts])
    day = np.concatenate([x[5] for x in parts])
    keep = day <= cal.LAST
    return acc[keep], typ[keep], reason[keep], prio[keep], order[keep], day[keep]
