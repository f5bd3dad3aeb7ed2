"""The SAP source computed a second time, in pandas straight from the SAP CSV files.

It never reads a dbt model or the warehouse. It decodes SAP's conventions on its own: the inverted
dates of TCURR/TCURF (99999999 - yyyymmdd), negative rates as inverse quotations, the TCURF ratios
and alternative rate types, the decimals of TCURX; and it drops the orders the quality rules of the
SAP source quarantine (expectations/rules.yml, severity quarantine), so that its numbers are the
ones the marts and metrics must show. Money is exact (Decimal, rounded half up to the cent per item).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pandas as pd

from finkpi.settings import load_settings

CENT = Decimal("0.01")
CLIENT = "000"
RATE_TYPE = "M"
REPORTING = "EUR"
COMPANY_CODE = "EPM1"
COMPANY_START = "2012-10-03"  # seeds/sap_company_codes.csv
UNASSIGNED = "(unassigned)"


def sap_dir() -> Path:
    return load_settings().source_folder("sap")


@functools.cache
def raw(name: str, folder: Path | None = None) -> pd.DataFrame:
    """One SAP file, every column as stripped text."""
    frame = pd.read_csv((folder or sap_dir()) / f"{name}.csv", dtype=str, keep_default_na=False)
    return frame.apply(lambda column: column.str.strip())


def inverted_date(gdatu: str) -> str:
    """SAP's inverted date: 79989898 -> '2001-01-01'."""
    digits = str(99999999 - int(gdatu))
    return f"{digits[:4]}-{digits[4:6]}-{digits[6:]}"


@dataclass(frozen=True)
class Rate:
    rate_type: str
    quoted: Decimal
    from_factor: Decimal
    to_factor: Decimal

    def convert(self, amount: Decimal) -> Decimal:
        if self.quoted < 0:  # inverse quotation: |quoted| from-units per to-unit
            value = amount * self.to_factor / (abs(self.quoted) * self.from_factor)
        else:
            value = amount * self.quoted * self.to_factor / self.from_factor
        return value.quantize(CENT, rounding=ROUND_HALF_UP)


@functools.cache
def _valid_from_sorted(name: str) -> dict[tuple[str, str, str], list[tuple[str, dict]]]:
    """TCURR or TCURF of the client: (rate type, from, to) -> [(valid from, row)], oldest first."""
    table = raw(name)
    table = table[table["MANDT"] == CLIENT]
    found: dict[tuple[str, str, str], list[tuple[str, dict]]] = {}
    for row in table.to_dict("records"):
        key = (row["KURST"], row["FCURR"], row["TCURR"])
        found.setdefault(key, []).append((inverted_date(row["GDATU"]), row))
    return {key: sorted(rows, key=lambda item: item[0]) for key, rows in found.items()}


def _latest(name: str, key: tuple[str, str, str], day: str) -> dict | None:
    """The row valid on `day`: the latest valid-from on or before it."""
    rows = [row for valid_from, row in _valid_from_sorted(name).get(key, []) if valid_from <= day]
    return rows[-1] if rows else None


@functools.cache
def rate(from_currency: str, to_currency: str, day: str) -> Rate | None:
    """The rate SAP uses for a pair on a day: TCURF may send the pair to an alternative rate type
    (ABWCT); the ratio is the TCURF entry of the rate type used (1:1 without one)."""
    requested = _latest("TCURF", (RATE_TYPE, from_currency, to_currency), day)
    used_type = requested["ABWCT"] if requested is not None and requested["ABWCT"] else RATE_TYPE
    found = _latest("TCURR", (used_type, from_currency, to_currency), day)
    if found is None or Decimal(found["UKURS"]) == 0:
        return None
    ratio = _latest("TCURF", (used_type, from_currency, to_currency), inverted_date(found["GDATU"]))
    from_factor = Decimal(ratio["FFACT"]) if ratio is not None else Decimal(1)
    to_factor = Decimal(ratio["TFACT"]) if ratio is not None else Decimal(1)
    return Rate(used_type, Decimal(found["UKURS"]), from_factor, to_factor)


@functools.cache
def decimals(currency: str) -> int:
    table = raw("TCURX")
    found = table.loc[table["CURRKEY"] == currency, "CURRDEC"]
    return int(found.iloc[0]) if len(found) else 2


def external_amount(stored: str, currency: str) -> Decimal:
    """SAP keeps two decimals for every currency: JPY 22.99 stored is 2,299 yen (TCURX: 0)."""
    return Decimal(stored).scaleb(2 - decimals(currency))


def _is_int(text: str) -> bool:
    return text.isdigit()


def _valid_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _quarantined_orders(headers: pd.DataFrame, items: pd.DataFrame, key: str, partner: str) -> set[str]:
    """Orders the SAP rules of severity quarantine take out (with all their items)."""
    known_products = set(raw("products")["PRODUCTID"])
    tcurc = raw("TCURC")
    known_currencies = set(tcurc.loc[tcurc["MANDT"] == CLIENT, "WAERS"])
    partners = set(raw("businessPartner")["PARTNERID"])
    as_of = headers["HISTORY.CREATEDAT"].max()  # the SAP company's own as-of date
    bad: set[str] = set()
    for order in headers.to_dict("records"):
        day = order["HISTORY.CREATEDAT"]
        if (
            not _valid_date(day)
            or day > as_of
            or day < COMPANY_START
            or order[partner] not in partners
            or not order["NETAMOUNT"]
        ):
            bad.add(order[key])
    dates = dict(zip(headers[key], headers["HISTORY.CREATEDAT"], strict=True))
    item_column = "SALESORDERITEM" if key == "SALESORDERID" else "PURCHASEORDERITEM"
    for item in items.to_dict("records"):
        currency = item["CURRENCY"]
        if (
            item[key] not in dates
            or not _is_int(item[item_column])
            or item["PRODUCT.PRODUCTID"] not in known_products
            or currency not in known_currencies
            or not item["QUANTITY"]
            or not item["NETAMOUNT"]
            or (currency != REPORTING and rate(currency, REPORTING, dates[item[key]]) is None)
        ):
            bad.add(item[key])
    return bad


def _converted_items(kind: str) -> pd.DataFrame:
    """Accepted items of accepted orders with the order's date, partner and status, and the
    net amount in EUR (cents)."""
    if kind == "sales":
        headers, items, key, partner = (
            raw("salesOrder"),
            raw("salesOrderItem"),
            "SALESORDERID",
            "PARTNER.PARTNERID",
        )
    else:
        headers, items, key, partner = (
            raw("purchaseOrder"),
            raw("purchaseOrderItem"),
            "PURCHASEORDERID",
            "PARTNER.PARTNERID",
        )
    bad = _quarantined_orders(headers, items, key, partner)
    headers = headers[~headers[key].isin(bad)]
    merged = items[~items[key].isin(bad)].merge(
        headers.drop(columns=["CURRENCY", "NETAMOUNT", "GROSSAMOUNT", "TAXAMOUNT", "NOTEID"]),
        on=key,
        validate="many_to_one",
    )
    cents = []
    for stored, currency, day in zip(
        merged["NETAMOUNT"], merged["CURRENCY"], merged["HISTORY.CREATEDAT"], strict=True
    ):
        amount = external_amount(stored, currency)
        eur = amount if currency == REPORTING else rate(currency, REPORTING, day).convert(amount)
        cents.append(int(eur.scaleb(2)))
    return merged.assign(day=merged["HISTORY.CREATEDAT"], cents=pd.array(cents, dtype="int64"))


@functools.cache
def sales_order_lines() -> pd.DataFrame:
    """Accepted SAP sales order items, with is_cancelled (lifecycle X), region (the partner's
    address), product category and EUR cents."""
    lines = _converted_items("sales")
    partners = raw("businessPartner").merge(
        raw("addresses")[["ADDRESSID", "REGION"]],
        left_on="ADDRESSES.ADDRESSID",
        right_on="ADDRESSID",
        how="left",
    )
    region = dict(zip(partners["PARTNERID"], partners["REGION"], strict=True))
    category = dict(zip(raw("products")["PRODUCTID"], raw("products")["CATEGORY"], strict=True))
    return lines.assign(
        order_id=lines["SALESORDERID"],
        customer_id=lines["PARTNER.PARTNERID"],
        is_cancelled=lines["LIFECYCLESTATUS"] == "X",
        region=lines["PARTNER.PARTNERID"].map(region),
        customer_segment=UNASSIGNED,
        product_category=lines["PRODUCT.PRODUCTID"].map(category),
    )


@functools.cache
def purchase_order_lines() -> pd.DataFrame:
    """Accepted SAP purchase order items with is_cancelled_or_rejected and EUR cents."""
    lines = _converted_items("purchase")
    rejected = (lines["LIFECYCLESTATUS"].isin(["X", "R"])) | (lines["APPROVALSTATUS"] == "R")
    return lines.assign(
        po_id=lines["PURCHASEORDERID"],
        supplier_id=lines["PARTNER.PARTNERID"],
        is_cancelled_or_rejected=rejected,
    )
