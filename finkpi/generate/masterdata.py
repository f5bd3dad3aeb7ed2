"""Master data shared by every shard: company, currencies and rates, products and bills of material,
suppliers and their price paths, standard costs, chart of accounts, cost centers, countries.

Customers are master data too, but they belong to a shard (see `make_customers`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import calendar as cal
from . import names
from .fixed import RATE_ONE, rdiv, round_int

COMPANY_CODE = "DE01"
COMPANY_NAME = "Finkpi Pumpen & Antriebe GmbH"
CURRENCIES = ["EUR", "USD", "CNY"]
REGIONS = ["DACH", "Western Europe", "Nordics", "North America", "Asia-Pacific"]
REGION_TZ = ["Europe/Berlin", "Europe/Berlin", "Europe/Berlin", "America/New_York", "Asia/Shanghai"]
SEGMENTS = ["Enterprise", "Mid-Market", "Small Business"]
CHANNELS = ["direct", "distributor", "web"]
FG_CATEGORIES = ["Pumps", "Valves", "Motors", "Controls"]
MAT_CATEGORIES = ["Steel", "Castings", "Electronics", "Seals"]

# code: (name, region index, currency index, VAT rate in basis points, legal forms, phone prefix, weight)
# VAT follows the brief: the German rate for DE, the local rate for other EU countries, 0 outside the EU.
COUNTRIES: dict[str, tuple] = {
    "DE": ("Germany", 0, 0, 1900, ["GmbH", "GmbH", "GmbH", "AG", "GmbH & Co. KG", "KG"], "+49", 0.74),
    "AT": ("Austria", 0, 0, 2000, ["GmbH", "GmbH", "AG"], "+43", 0.14),
    "CH": ("Switzerland", 0, 0, 0, ["AG", "AG", "GmbH"], "+41", 0.12),
    "FR": ("France", 1, 0, 2000, ["SAS", "SARL", "S.A."], "+33", 0.26),
    "NL": ("Netherlands", 1, 0, 2100, ["B.V.", "B.V.", "N.V."], "+31", 0.18),
    "BE": ("Belgium", 1, 0, 2100, ["N.V.", "B.V.", "S.A."], "+32", 0.09),
    "IT": ("Italy", 1, 0, 2200, ["S.r.l.", "S.p.A."], "+39", 0.2),
    "ES": ("Spain", 1, 0, 2100, ["S.L.", "S.A."], "+34", 0.12),
    "GB": ("United Kingdom", 1, 0, 0, ["Ltd", "Ltd.", "PLC"], "+44", 0.15),
    "SE": ("Sweden", 2, 0, 2500, ["AB"], "+46", 0.35),
    "DK": ("Denmark", 2, 0, 2500, ["A/S", "ApS"], "+45", 0.22),
    "FI": ("Finland", 2, 0, 2400, ["Oy", "Oyj"], "+358", 0.2),
    "NO": ("Norway", 2, 0, 0, ["AS", "ASA"], "+47", 0.23),
    "US": ("United States", 3, 1, 0, ["Inc.", "LLC", "Corp."], "+1", 0.82),
    "CA": ("Canada", 3, 1, 0, ["Inc.", "Ltd."], "+1", 0.18),
    "CN": ("China", 4, 2, 0, ["Co., Ltd."], "+86", 0.5),
    "JP": ("Japan", 4, 2, 0, ["K.K.", "Co., Ltd."], "+81", 0.15),
    "SG": ("Singapore", 4, 2, 0, ["Pte. Ltd."], "+65", 0.15),
    "AU": ("Australia", 4, 2, 0, ["Pty Ltd", "Pty. Ltd."], "+61", 0.2),
}
COUNTRY_CODES = list(COUNTRIES)
REGION_WEIGHTS = np.array([0.40, 0.22, 0.10, 0.16, 0.12])
SEGMENT_WEIGHTS = np.array([0.10, 0.30, 0.60])

# Chart of accounts: (id, name, type, group, cash_flow_category, is_control)
GL_ACCOUNTS = [
    ("0400", "Property, plant and equipment", "asset", "fixed_assets", "investing", False),
    ("1000", "Bank EUR", "asset", "cash", "operating", False),
    ("1010", "Bank USD", "asset", "cash", "operating", False),
    ("1020", "Bank CNY", "asset", "cash", "operating", False),
    ("1200", "Trade receivables", "asset", "receivables", "operating", True),
    ("1300", "Finished goods inventory", "asset", "inventory", "operating", True),
    ("1310", "Raw materials inventory", "asset", "inventory", "operating", True),
    ("1400", "Input VAT", "asset", "tax", "operating", False),
    ("2000", "Trade payables", "liability", "payables", "operating", True),
    ("2200", "Output VAT", "liability", "tax", "operating", False),
    ("2500", "Bank loans", "liability", "loans", "financing", False),
    ("3000", "Share capital and reserves", "equity", "equity", "financing", False),
    ("4000", "Revenue", "revenue", "revenue", "operating", False),
    ("4100", "Sales deductions and credit notes", "revenue", "revenue", "operating", False),
    ("5000", "Cost of goods sold at standard", "expense", "cogs", "operating", False),
    ("5100", "Purchase price variance", "expense", "cogs", "operating", False),
    ("5200", "Production and revaluation variance", "expense", "cogs", "operating", False),
    ("5300", "Conversion cost", "expense", "cogs", "operating", False),
    ("6000", "Salaries and wages", "expense", "opex", "operating", False),
    ("6100", "Rent and facilities", "expense", "opex", "operating", False),
    ("6200", "Outbound freight", "expense", "opex", "operating", False),
    ("6300", "Marketing", "expense", "opex", "operating", False),
    ("6400", "IT and software", "expense", "opex", "operating", False),
    ("6500", "Travel", "expense", "opex", "operating", False),
    ("6600", "Bad debt expense", "expense", "opex", "operating", False),
    ("6700", "Depreciation", "expense", "opex", "operating", False),
    ("7000", "FX gains and losses", "expense", "other_income", "operating", False),
    ("7100", "Interest expense", "expense", "other_income", "financing", False),
]
ACC = {row[0]: i for i, row in enumerate(GL_ACCOUNTS)}  # account id -> index

# Cost centers: each maps to exactly one of the six departments.
DEPARTMENTS = ["Sales", "Procurement", "Production", "Logistics", "Customer Service", "Finance"]
COST_CENTERS = [
    ("CC1000", "Sales DACH", "Sales"),
    ("CC1010", "Sales International", "Sales"),
    ("CC2000", "Purchasing", "Procurement"),
    ("CC3000", "Production Pumps & Valves", "Production"),
    ("CC3010", "Production Motors & Controls", "Production"),
    ("CC4000", "Warehouse & Shipping", "Logistics"),
    ("CC5000", "Customer Service", "Customer Service"),
    ("CC6000", "Finance & Accounting", "Finance"),
    ("CC6010", "IT & Administration", "Finance"),
]
CC = {row[0]: i for i, row in enumerate(COST_CENTERS)}

FG_NAMES = {
    "Pumps": [
        "Centrifugal Pump",
        "Submersible Pump",
        "Inline Pump",
        "Booster Set",
        "Dosing Pump",
        "Multistage Pump",
        "Circulator Pump",
        "Sewage Pump",
    ],
    "Valves": [
        "Gate Valve",
        "Ball Valve",
        "Butterfly Valve",
        "Check Valve",
        "Globe Valve",
        "Control Valve",
        "Pressure Relief Valve",
        "Solenoid Valve",
    ],
    "Motors": [
        "IE3 Induction Motor",
        "IE4 Premium Motor",
        "Servo Motor",
        "Geared Motor",
        "ATEX Motor",
        "DC Motor",
        "Pump Motor",
        "Brake Motor",
    ],
    "Controls": [
        "Frequency Inverter",
        "Pump Controller",
        "Level Sensor Kit",
        "Pressure Transmitter",
        "Control Cabinet",
        "Soft Starter",
        "Flow Meter",
        "Remote Monitoring Gateway",
    ],
}
MAT_NAMES = {
    "Steel": [
        "Stainless Sheet 1.4301",
        "Carbon Steel Bar S235",
        "Stainless Bar 1.4404",
        "Steel Tube 48x3",
        "Duplex Plate 1.4462",
        "Spring Steel Strip",
        "Copper Wire 1.0",
        "Electrical Steel Lamination",
        "Shaft Steel 42CrMo4",
        "Aluminium Profile 6060",
    ],
    "Castings": [
        "Pump Housing DN50",
        "Pump Housing DN100",
        "Impeller 160",
        "Impeller 250",
        "Valve Body DN50",
        "Valve Body DN150",
        "Motor End Shield",
        "Motor Frame 112",
        "Bearing Housing",
        "Volute Casing",
        "Valve Bonnet",
        "Gearbox Housing",
    ],
    "Electronics": [
        "Control PCB",
        "Power Module 4kW",
        "Power Module 22kW",
        "Stator Winding Set",
        "Rotor Assembly",
        "Pressure Sensor",
        "Display Unit",
        "Relay Module",
        "Cable Harness",
        "IGBT Module",
        "Encoder",
        "Terminal Box",
        "Level Probe",
        "Flow Sensor",
        "Modem Board",
        "Fan Unit",
    ],
    "Seals": [
        "Mechanical Seal 25",
        "Mechanical Seal 40",
        "O-Ring Set NBR",
        "O-Ring Set EPDM",
        "Gasket DN50",
        "Gasket DN150",
        "Shaft Seal",
        "Lip Seal 35",
        "Bellows Seal",
        "PTFE Packing",
        "Flange Seal Kit",
        "Cable Gland Seal",
    ],
}
# EUR price range per unit of each material category (Steel per KG, the rest per piece)
MAT_PRICE_RANGE = {
    "Steel": (1.8, 6.5),
    "Castings": (25.0, 280.0),
    "Electronics": (8.0, 350.0),
    "Seals": (0.8, 25.0),
}

# Suppliers: (category, currency index, country) in supplier id order. S00001 is the main CNY
# supplier (castings) that is hit by the 2024-Q3 disruption.
SUPPLIER_PLAN = (
    [("Castings", 2, "CN")]
    + [("Steel", 0, "DE")] * 5
    + [("Steel", 0, "AT"), ("Steel", 1, "US"), ("Steel", 2, "CN")]
    + [
        ("Castings", 0, "DE"),
        ("Castings", 0, "IT"),
        ("Castings", 0, "CZ"),
        ("Castings", 1, "US"),
        ("Castings", 2, "CN"),
    ]
    + [("Electronics", 0, "DE")] * 5
    + [("Electronics", 0, "AT"), ("Electronics", 0, "FR"), ("Electronics", 1, "US"), ("Electronics", 1, "US")]
    + [("Electronics", 2, "CN")] * 4
    + [("Seals", 0, "DE")] * 4
    + [
        ("Seals", 0, "IT"),
        ("Seals", 0, "NL"),
        ("Seals", 0, "BE"),
        ("Seals", 1, "US"),
        ("Seals", 2, "CN"),
        ("Seals", 2, "CN"),
    ]
    + [("Steel", 0, "FI"), ("Electronics", 0, "NL"), ("Seals", 0, "AT")]
)
MAIN_SUPPLIER = 0
SUPPLIER_LEAD_DAYS = np.array([10, 24, 42])  # supplier lead time by currency: EUR, USD, CNY
# products.list_price_eur is the current (2025) price list. The company raised its list prices by 3%
# on 2024-01-01 and by 4% on 2025-01-01; orders use the price list of their booking year.
LIST_PRICE_FACTOR = {2023: 1 / (1.03 * 1.04), 2024: 1 / 1.04, 2025: 1.0}


@dataclass
class Master:
    # products (finished goods first, then materials)
    product_id: list[str]
    product_name: list[str]
    product_type: np.ndarray  # 0 finished, 1 material
    product_cat: list[str]
    uom: list[str]
    list_price_cents: np.ndarray  # finished goods; -1 for materials
    n_fg: int
    n_mat: int
    fg_cat: np.ndarray  # index into FG_CATEGORIES
    mat_cat: np.ndarray  # index into MAT_CATEGORIES
    bom_milli: np.ndarray  # (n_fg, n_mat) material quantity per finished unit, 1e-3
    exposure: np.ndarray  # (n_fg,) share of material cost bought from the main CNY supplier
    mat_supplier: np.ndarray  # supplier index of each material
    price_cur: np.ndarray  # (n_mat, days) expected purchase price in supplier currency (float)
    std_1e4: np.ndarray  # (n_products, n_quarters) standard cost, 1e-4 EUR
    conv_1e4: np.ndarray  # (n_fg, n_quarters) standard conversion cost per finished unit
    # suppliers
    sup_name: list[str]
    sup_country: list[str]
    sup_cur: np.ndarray
    sup_cat: list[str]
    sup_terms: np.ndarray
    sup_ontime: np.ndarray
    # exchange rates: (3, days) EUR per unit, 1e-8; row 0 (EUR) is 1.0
    rate: np.ndarray
    # logistics on-time propensity of the warehouse per day (before shock effects)
    ontime_base: np.ndarray


N_EXT = len(cal.MONTH_INDEX)  # day numbers covered by lookup arrays (history + a year of slack)


def _fx_paths(rng: np.random.Generator) -> np.ndarray:
    """Daily EUR rates of USD and CNY as mean-reverting log random walks (weekends included)."""
    rate = np.empty((3, N_EXT), dtype=np.int64)
    rate[0] = RATE_ONE
    for k, (start, vol) in enumerate([(0.9350, 0.0035), (0.1355, 0.0032)], start=1):
        x = np.empty(N_EXT)
        x[0] = np.log(start)
        shocks = rng.normal(0.0, vol, N_EXT)
        for i in range(1, N_EXT):
            x[i] = x[i - 1] + shocks[i] - 0.004 * (x[i - 1] - np.log(start))
        rate[k] = round_int(np.exp(x) * RATE_ONE)
    return rate


def _ontime_base(rng: np.random.Generator) -> np.ndarray:
    """Warehouse on-time propensity: a slow weekly AR(1) walk around 0.92 within 0.85..0.97."""
    n_w = N_EXT // 7 + 2
    v = np.empty(n_w)
    v[0] = 0.92
    e = rng.normal(0.0, 0.012, n_w)
    for i in range(1, n_w):
        v[i] = np.clip(v[i - 1] + e[i] - 0.08 * (v[i - 1] - 0.92), 0.85, 0.97)
    return np.interp(np.arange(N_EXT) / 7.0, np.arange(n_w), v)


def make_master(rng: np.random.Generator) -> Master:
    rate = _fx_paths(rng)

    # --- products -------------------------------------------------------------------------------
    fg_ids, fg_names, fg_cat = [], [], []
    for ci, cat_name in enumerate(FG_CATEGORIES):
        for j, base in enumerate(FG_NAMES[cat_name]):
            fg_ids.append(f"FG{1001 + ci * 100 + j}")
            size = [32, 50, 65, 80, 100, 125, 150, 200][int(rng.integers(0, 8))]
            fg_names.append(f"{base} {cat_name[0]}{size}-{j + 1}")
            fg_cat.append(ci)
    mat_ids, mat_names, mat_cat, mat_uom = [], [], [], []
    for ci, cat_name in enumerate(MAT_CATEGORIES):
        for j, nm in enumerate(MAT_NAMES[cat_name]):
            mat_ids.append(f"RM{2001 + ci * 100 + j}")
            mat_names.append(nm)
            mat_cat.append(ci)
            mat_uom.append("KG" if cat_name == "Steel" else "EA")
    fg_cat = np.array(fg_cat)
    mat_cat = np.array(mat_cat)
    n_fg, n_mat = len(fg_ids), len(mat_ids)

    # --- suppliers and material sourcing ----------------------------------------------------------
    sup_cat = [p[0] for p in SUPPLIER_PLAN]
    sup_cur = np.array([p[1] for p in SUPPLIER_PLAN])
    sup_country = [p[2] for p in SUPPLIER_PLAN]
    eur_stems = list(names.SUPPLIER_STEMS)
    us_stems, cn_stems = list(names.US_SUPPLIER_STEMS), list(names.CN_SUPPLIER_STEMS)
    legal = {
        "DE": "GmbH",
        "AT": "GmbH",
        "IT": "S.p.A.",
        "CZ": "s.r.o.",
        "FR": "SAS",
        "NL": "B.V.",
        "BE": "N.V.",
        "FI": "Oy",
        "US": "Inc.",
        "CN": "Co., Ltd.",
    }
    sup_name = []
    for i, (_cat, cur, ctry) in enumerate(SUPPLIER_PLAN):
        if i == MAIN_SUPPLIER:
            sup_name.append(names.MAIN_CNY_SUPPLIER_NAME)
            continue
        stem = (cn_stems if cur == 2 else us_stems if cur == 1 else eur_stems).pop(0)
        sup_name.append(f"{stem} {legal[ctry]}")
    sup_terms = np.where(sup_cur == 2, 60, rng.choice([30, 45, 60], size=len(sup_cur)))
    sup_terms[MAIN_SUPPLIER] = 90
    sup_ontime = rng.uniform(0.86, 0.97, len(sup_cur))
    sup_ontime[MAIN_SUPPLIER] = 0.94

    # The main CNY supplier makes two thirds of the castings (the cheap high-volume ones); the other
    # materials are spread round-robin over the suppliers of their category.
    mat_supplier = np.empty(n_mat, dtype=np.int64)
    for ci, cat_name in enumerate(MAT_CATEGORIES):
        mats = np.flatnonzero(mat_cat == ci)
        sups = [s for s in range(len(sup_cat)) if sup_cat[s] == cat_name and s != MAIN_SUPPLIER]
        for k, m in enumerate(mats):
            if cat_name == "Castings" and k % 3 != 2:
                mat_supplier[m] = MAIN_SUPPLIER
            else:
                mat_supplier[m] = sups[k % len(sups)]

    # base EUR price per material; sourcing from China is ~20% cheaper
    lo = np.array([MAT_PRICE_RANGE[MAT_CATEGORIES[c]][0] for c in mat_cat])
    hi = np.array([MAT_PRICE_RANGE[MAT_CATEGORIES[c]][1] for c in mat_cat])
    base_eur = np.exp(rng.uniform(np.log(lo), np.log(hi)))
    base_eur *= np.where(sup_cur[mat_supplier] == 2, 0.8, 1.0)

    # --- supplier price paths (cause 2: supplier price rises -> standard cost -> COGS) -------------
    days = np.arange(N_EXT)
    n_sup = len(sup_cat)
    sup_factor = np.ones((n_sup, N_EXT))
    for y in (2023, 2024, 2025):
        jan = cal.day(y, 1, 1)
        jul = cal.day(y, 7, 1)
        up_jan = rng.uniform(0.0, 0.06, n_sup)  # yearly list-price increases of the suppliers
        up_jul = np.where(rng.random(n_sup) < 0.4, rng.uniform(0.0, 0.03, n_sup), 0.0)
        if y > 2023:
            sup_factor[:, days >= jan] *= (1 + up_jan)[:, None]
        sup_factor[:, days >= jul] *= (1 + up_jul)[:, None]
    shock_price = np.ones(N_EXT)
    shock_price[days >= cal.SHOCK_PRICE_FROM] = 1 + cal.SHOCK_PRICE_UP
    shock_price[days >= cal.SHOCK_PRICE_EASE] = 1 + cal.SHOCK_PRICE_AFTER
    sup_factor[MAIN_SUPPLIER] *= shock_price
    # steel follows a commodity index (monthly random walk, +-2%/month)
    steel = np.exp(np.cumsum(rng.normal(0.002, 0.02, cal.MONTH_INDEX.max() + 1)))[cal.MONTH_INDEX]
    mat_factor = sup_factor[mat_supplier] * np.where((mat_cat == 0)[:, None], steel[None, :], 1.0)
    fx0 = rate[:, 0] / RATE_ONE
    price_cur = (base_eur / fx0[sup_cur[mat_supplier]])[:, None] * mat_factor  # (n_mat, days)

    # --- bills of material --------------------------------------------------------------------------
    # (category -> list of (material category, number of materials, qty range per finished unit))
    bom_rules = {
        0: [(0, 1, (8.0, 30.0)), (1, 1, (1, 2)), (2, 1, (1, 1)), (3, 1, (1, 4))],  # pumps
        1: [(0, 1, (2.0, 8.0)), (1, 1, (1, 1)), (3, 1, (1, 3)), (2, 1, (0, 1))],  # valves
        2: [(0, 1, (4.0, 20.0)), (1, 1, (1, 1)), (2, 2, (1, 1)), (3, 1, (1, 2))],  # motors
        3: [(0, 1, (0.5, 3.0)), (2, 2, (1, 2)), (3, 1, (0, 1))],  # controls
    }
    bom = np.zeros((n_fg, n_mat), dtype=np.int64)
    for f in range(n_fg):
        for mc, k, (qlo, qhi) in bom_rules[int(fg_cat[f])]:
            pool = np.flatnonzero(mat_cat == mc)
            for m in rng.choice(pool, size=k, replace=False):
                if mc == 0:  # steel in KG with one decimal
                    q = int(round(rng.uniform(qlo, qhi) * 10)) * 100
                else:
                    q = int(rng.integers(int(qlo), int(qhi) + 1)) * 1000
                bom[f, m] += q
        if bom[f].sum() == 0:
            bom[f, np.flatnonzero(mat_cat == 2)[0]] = 1000

    # --- standard costs per quarter -------------------------------------------------------------
    nq = cal.N_QUARTERS
    qs = cal.QUARTER_STARTS
    mat_std = np.empty((n_mat, nq), dtype=np.int64)
    eur_path = price_cur * (rate[sup_cur[mat_supplier]] / RATE_ONE)  # expected EUR price per day
    mat_std[:, 0] = round_int(eur_path[:, 0] * 1e4)
    for q in range(1, nq):
        # re-set from the purchase prices of the previous quarter
        mat_std[:, q] = round_int(eur_path[:, qs[q - 1] : qs[q]].mean(axis=1) * 1e4)
    mat_cost0 = rdiv(bom @ mat_std[:, 0], 1000)
    conv_mult = np.array([0.30, 0.22, 0.28, 0.18])[fg_cat] * rng.uniform(0.85, 1.15, n_fg)
    conv = np.empty((n_fg, nq), dtype=np.int64)
    for q in range(nq):
        wage = 1.03 ** (q // 4)  # conversion rates (wages, energy) go up every January
        conv[:, q] = round_int(mat_cost0 * conv_mult * wage)
    fg_std = rdiv(bom @ mat_std, 1000) + conv
    std = np.vstack([fg_std, mat_std])

    markup = rng.uniform(1.75, 2.15, n_fg)  # list price / standard cost in Q1 2023
    list_eur = fg_std[:, 0] / 1e4 * markup
    step = np.where(list_eur >= 1000, 10, np.where(list_eur >= 100, 5, 1))
    list_cents = round_int(np.round(list_eur / step) * step * 100)

    cost_main = (bom * (mat_supplier == MAIN_SUPPLIER)[None, :]) @ mat_std[:, 0]
    exposure = cost_main / (bom @ mat_std[:, 0])

    return Master(
        product_id=fg_ids + mat_ids,
        product_name=fg_names + mat_names,
        product_type=np.array([0] * n_fg + [1] * n_mat),
        product_cat=[FG_CATEGORIES[c] for c in fg_cat] + [MAT_CATEGORIES[c] for c in mat_cat],
        uom=["EA"] * n_fg + mat_uom,
        list_price_cents=np.concatenate([list_cents, -np.ones(n_mat, dtype=np.int64)]),
        n_fg=n_fg,
        n_mat=n_mat,
        fg_cat=fg_cat,
        mat_cat=mat_cat,
        bom_milli=bom,
        exposure=exposure,
        mat_supplier=mat_supplier,
        price_cur=price_cur,
        std_1e4=std,
        conv_1e4=conv,
        sup_name=sup_name,
        sup_country=sup_country,
        sup_cur=sup_cur,
        sup_cat=sup_cat,
        sup_terms=sup_terms.astype(np.int64),
        sup_ontime=sup_ontime,
        rate=rate,
        ontime_base=_ontime_base(rng),
    )


def list_price_on(master: Master, fg_idx, d) -> np.ndarray:
    """EUR list price (cents) of finished goods on day numbers d: the price list of that year,
    rounded to whole euros."""
    years = sorted(LIST_PRICE_FACTOR)
    table = np.array(
        [round_int(master.list_price_cents[: master.n_fg] / 100 * LIST_PRICE_FACTOR[y]) * 100 for y in years]
    )
    return table[cal.YEAR[np.asarray(d)] - years[0], np.asarray(fg_idx)]


def std_on(master: Master, product_idx, d) -> np.ndarray:
    """Standard cost (1e-4 EUR) of products on day numbers d (vectorized)."""
    return master.std_1e4[np.asarray(product_idx), cal.QUARTER_OF_DAY[np.asarray(d)]]


# ---------------------------------------------------------------------------------------------
# customers (per shard)

CUSTOMERS_PER_SHARD = 600
PROSPECTS_PER_SHARD = 160
_NAME_PRIME = 4091  # coprime with len(STEMS) * len(WORDS), spreads consecutive indices


def company_name_parts(g: int) -> tuple[int, int, int]:
    """Unique (stem, word, city) for a global name index g (customers and prospects of all shards).

    A bijection, not a random draw, so that names stay unique across any number of shards without
    coordination; city 0 means "no city" (all of shard 0 and the first shards).
    """
    sw = len(names.STEMS) * len(names.WORDS)
    level, k = divmod(g, sw)
    k = (k * _NAME_PRIME + 17) % sw
    return k // len(names.WORDS), k % len(names.WORDS), level


def company_name(g: int, legal: str) -> str:
    s, w, city = company_name_parts(g)
    parts = [names.STEMS[s], names.WORDS[w]]
    if city:
        parts.append(names.CITIES[(city - 1) % len(names.CITIES)])
        if city > len(names.CITIES):
            parts.append(str((city - 1) // len(names.CITIES) + 1))
    return " ".join(parts + [legal])


@dataclass
class Customers:
    n: int
    seq: np.ndarray  # 1-based number inside the shard
    name: list[str]
    legal: list[str]
    country: list[str]
    region: np.ndarray
    segment: np.ndarray
    currency: np.ndarray
    terms: np.ndarray
    created: np.ndarray  # day number (may be before 2023)
    tax_bp: np.ndarray


def pick_country(rng: np.random.Generator, region: np.ndarray) -> list[str]:
    out = []
    u = rng.random(len(region))
    for r, x in zip(region, u, strict=True):
        codes = [c for c in COUNTRY_CODES if COUNTRIES[c][1] == r]
        w = np.array([COUNTRIES[c][6] for c in codes])
        out.append(codes[int(np.searchsorted(np.cumsum(w) / w.sum(), x))])
    return out


def make_customers(rng: np.random.Generator, shard: int) -> Customers:
    n = CUSTOMERS_PER_SHARD
    region = rng.choice(5, size=n, p=REGION_WEIGHTS)
    country = pick_country(rng, region)
    segment = rng.choice(3, size=n, p=SEGMENT_WEIGHTS)
    currency = np.array([COUNTRIES[c][2] for c in country])
    terms = np.select(
        [segment == 0, segment == 1],
        [rng.choice([45, 60], size=n), rng.choice([30, 45], size=n)],
        rng.choice([14, 30], size=n),
    )
    # ~68% were customers before the history starts, the rest are won during 2023-2025
    old = rng.random(n) < 0.68
    created = np.where(
        old,
        rng.integers(cal.day(2012, 1, 1), cal.day(2022, 12, 31), n),
        rng.integers(cal.day(2023, 1, 2), cal.day(2025, 9, 30), n),
    )
    legal = [COUNTRIES[c][4][int(rng.integers(0, len(COUNTRIES[c][4])))] for c in country]
    nm = [company_name(shard * 1000 + i, legal[i]) for i in range(n)]
    return Customers(
        n=n,
        seq=np.arange(1, n + 1),
        name=nm,
        legal=legal,
        country=country,
        region=region,
        segment=segment,
        currency=currency,
        terms=terms.astype(np.int64),
        created=created.astype(np.int64),
        tax_bp=np.array([COUNTRIES[c][3] for c in country], dtype=np.int64),
    )
