"""The SAP source (SAP SHINE EPM, real data) against pandas computations straight from its CSV
files (tests/sap/oracle.py and the code below): never against the dbt models themselves."""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd
import pytest

from finkpi.settings import PROJECT_DIR
from finkpi.sources import get, sap
from tests.sap import oracle

SHARED_COPY = PROJECT_DIR.parent / "shared" / "reference-data" / "sap_shine_epm"
CENT = Decimal("0.01")


def _money(value) -> Decimal:
    return Decimal(repr(value) if isinstance(value, float) else str(value)).quantize(CENT, ROUND_HALF_UP)


def _metric(metric_values: pd.DataFrame, metric: str, grain: str, dimension: str, value: str) -> dict:
    rows = metric_values[
        (metric_values["metric_name"] == metric)
        & (metric_values["grain"] == grain)
        & (metric_values["dimension"] == dimension)
        & (metric_values["dimension_value"] == value)
    ]
    return {pd.Timestamp(s).date(): v for s, v in zip(rows["period_start"], rows["value"], strict=True)}


# --- the source's files and contract ---------------------------------------------------------------


def test_the_vendored_copy_is_the_reference_data_byte_for_byte():
    """data/reference/sap is a copy of the project's read-only reference folder (where it exists)."""
    if not SHARED_COPY.is_dir():
        pytest.skip(f"{SHARED_COPY} is not on this machine (a fresh clone has only the vendored copy)")
    vendored = PROJECT_DIR / "data" / "reference" / "sap"
    for file in sorted(vendored.glob("*.csv")) + [vendored / "LICENSE_Apache-2.0.txt"]:
        original = SHARED_COPY / file.name
        assert hashlib.sha256(file.read_bytes()).digest() == hashlib.sha256(original.read_bytes()).digest(), (
            file
        )


def test_the_contract_is_each_files_header():
    for table in get("sap").tables:
        header = (PROJECT_DIR / "data/reference/sap" / f"{table.file_stem}.csv").read_text().split("\n", 1)[0]
        assert header.split(",") == table.column_names, table.name


def test_a_missing_sap_folder_stops_the_preflight_with_its_name(sample_settings, tmp_path):
    from finkpi.quality import preflight

    nowhere = sample_settings.with_(source_folders={"sap": tmp_path / "nowhere"})
    problems = preflight.find_problems(nowhere, (get("sap"),))
    assert [p.describe() for p in problems] == [
        f"FAILED rule empty_file: {tmp_path / 'nowhere'}: the folder of source sap does not exist;"
        " set FINKPI_SAP_DIR"
    ]


def test_the_bundled_sap_files_pass_the_preflight(sample_settings):
    from finkpi.quality import preflight

    assert preflight.find_problems(sample_settings, (get("sap"),)) == []


# --- currency: inverted dates, inverse quotations, TCURF ratios, TCURX decimals ---------------------


def test_inverted_dates_decode():
    assert oracle.inverted_date("79989898") == "2001-01-01"
    assert oracle.inverted_date("81999898") == "1800-01-01"


def test_a_conversion_with_a_tcurf_ratio(warehouse):
    """JPY -> CNY, rate type M: 7.21600 for a ratio of 100 JPY : 1 CNY (TCURF), read by hand from
    the files: 10,000 JPY = 100 x 7.216 = 721.60 CNY."""
    tcurr = oracle.raw("TCURR")
    row = tcurr[
        (tcurr.MANDT == "000") & (tcurr.KURST == "M") & (tcurr.FCURR == "JPY") & (tcurr.TCURR == "CNY")
    ]
    tcurf = oracle.raw("TCURF")
    ratio = tcurf[
        (tcurf.MANDT == "000") & (tcurf.KURST == "M") & (tcurf.FCURR == "JPY") & (tcurf.TCURR == "CNY")
    ]
    assert row["UKURS"].tolist() == ["7.21600"] and ratio[["FFACT", "TFACT"]].values.tolist() == [
        ["100", "1"]
    ]
    assert oracle.rate("JPY", "CNY", "2015-06-30").convert(Decimal("10000")) == Decimal("721.60")
    resolved = warehouse.execute(
        "select rate_type_used, is_inverse_quotation, quoted_rate, from_factor, to_factor, valid_from"
        " from intermediate.int_sap_exchange_rates_resolved"
        " where from_currency = 'JPY' and to_currency = 'CNY'"
    ).fetchall()
    assert resolved == [("M", False, Decimal("7.21600"), Decimal("100"), Decimal("1"), date(2001, 1, 1))]


def test_a_jpy_item_is_shifted_by_tcurx_and_converted_with_an_inverse_rate(warehouse):
    """JPY has 0 decimals (TCURX): SAP's stored 2 x 2,299.00 of HT-1011 is 459,800 yen. To EUR, M
    is sent to rate type EURX (TCURF ABWCT) whose JPY -> EUR rate is -108.56: 108.56 yen per euro."""
    items = oracle.raw("salesOrderItem")
    jpy = items[items.CURRENCY == "JPY"].iloc[0]
    order = oracle.raw("salesOrder").set_index("SALESORDERID").loc[jpy.SALESORDERID]
    assert oracle.decimals("JPY") == 0
    yen = Decimal(jpy.NETAMOUNT) * 100
    eur = (yen / Decimal("108.56")).quantize(CENT, ROUND_HALF_UP)
    fact = warehouse.execute(
        "select currency, net_amount, net_amount_reporting, order_date from marts.fct_sales_order_lines"
        " where order_id = ? and line_number = ?",
        [jpy.SALESORDERID, int(jpy.SALESORDERITEM)],
    ).fetchone()
    assert fact == ("JPY", yen, eur, date.fromisoformat(order["HISTORY.CREATEDAT"]))


# --- SAP numbers in the marts and the metric layer ------------------------------------------------


def test_every_accepted_sap_order_line_is_in_the_fact_with_its_euro_amount(warehouse):
    lines = oracle.sales_order_lines()
    fact = warehouse.execute(
        "select order_id, line_number, customer_id, company_code, is_cancelled, net_amount_reporting"
        " from marts.fct_sales_order_lines where source_system = 'sap'"
    ).df()
    assert len(fact) == len(lines) == 6037
    expected = {
        (o, int(i)): (c, "EPM1", x, Decimal(cents).scaleb(-2))
        for o, i, c, x, cents in zip(
            lines.order_id,
            lines.SALESORDERITEM,
            lines.customer_id,
            lines.is_cancelled,
            lines.cents,
            strict=True,
        )
    }
    got = {(o, i): (c, k, bool(x), v) for o, i, c, k, x, v in fact.itertuples(index=False)}
    assert got == expected


def test_orders_booked_in_2015(metric_values):
    lines = oracle.sales_order_lines()
    booked = lines[~lines.is_cancelled & lines.day.str.startswith("2015")]
    expected = booked.order_id.nunique()
    got = _metric(metric_values, "orders_booked", "year", "source_system", "sap")[date(2015, 1, 1)]
    assert got == expected == 735


def test_order_intake_in_euro_for_march_2015(metric_values):
    lines = oracle.sales_order_lines()
    march = lines[~lines.is_cancelled & lines.day.str.startswith("2015-03")]
    expected = Decimal(int(march.cents.sum())).scaleb(-2)
    by_company = _metric(metric_values, "order_intake", "month", "company_code", "EPM1")
    assert _money(by_company[date(2015, 3, 1)]) == expected
    # the company total of that month is the SAP company's alone (the sample starts in 2023)
    total = _metric(metric_values, "order_intake", "month", "total", "all")
    assert _money(total[date(2015, 3, 1)]) == expected


def test_average_order_value_by_source_system_for_2015(metric_values):
    lines = oracle.sales_order_lines()
    booked = lines[~lines.is_cancelled & lines.day.str.startswith("2015")]
    expected = float(Decimal(int(booked.cents.sum())).scaleb(-2) / booked.order_id.nunique())
    got = _metric(metric_values, "average_order_value", "year", "source_system", "sap")[date(2015, 1, 1)]
    assert got == pytest.approx(expected, rel=1e-9)


def test_purchase_volume_and_active_suppliers_in_2015(metric_values):
    lines = oracle.purchase_order_lines()
    placed = lines[~lines.is_cancelled_or_rejected & lines.day.str.startswith("2015")]
    volume = Decimal(int(placed.cents.sum())).scaleb(-2)
    assert (
        _money(_metric(metric_values, "purchase_volume", "year", "company_code", "EPM1")[date(2015, 1, 1)])
        == volume
    )
    suppliers = _metric(metric_values, "active_suppliers", "month", "company_code", "EPM1")
    by_month = placed.groupby(placed.day.str[:7]).supplier_id.nunique()
    assert {m: suppliers[date.fromisoformat(m + "-01")] for m in by_month.index} == by_month.to_dict()
    assert len(by_month) == 12


def test_ordering_customers_per_month_in_the_fact(warehouse):
    """Active customers is defined by invoices (none in the SAP extract); the customers with a
    booked order are in the fact, per month, as pandas counts them from the files."""
    lines = oracle.sales_order_lines()
    booked = lines[~lines.is_cancelled]
    expected = booked.groupby(booked.day.str[:7]).customer_id.nunique().to_dict()
    got = warehouse.execute(
        "select strftime(order_date, '%Y-%m'), count(distinct customer_id) from marts.fct_sales_order_lines"
        " where source_system = 'sap' and not is_cancelled group by 1"
    ).fetchall()
    assert dict(got) == expected


def test_totals_are_the_sum_of_both_erps(metric_values):
    for metric in ("order_intake", "purchase_volume"):
        total = _metric(metric_values, metric, "year", "total", "all")
        erp = _metric(metric_values, metric, "year", "source_system", "erp")
        sap_values = _metric(metric_values, metric, "year", "source_system", "sap")
        assert erp and sap_values
        for year, value in total.items():
            assert _money(value) == _money(erp.get(year, 0) or 0) + _money(sap_values.get(year, 0) or 0), (
                metric,
                year,
            )


def test_supported_and_unsupported_metrics_are_listed_and_not_faked(metric_values, warehouse):
    catalog = {
        row[0] for row in warehouse.execute("select metric_name from metrics.metric_catalog").fetchall()
    }
    assert set(sap.SUPPORTED_METRICS) | set(sap.UNSUPPORTED_METRICS) == catalog
    assert not set(sap.SUPPORTED_METRICS) & set(sap.UNSUPPORTED_METRICS)
    sap_rows = metric_values[
        metric_values["dimension"].isin(["company_code", "source_system"])
        & metric_values["dimension_value"].isin(["EPM1", "sap"])
    ]
    with_values = set(sap_rows.loc[sap_rows["value"].fillna(0) != 0, "metric_name"])
    assert with_values == set(sap.SUPPORTED_METRICS)


def test_the_sap_company_and_its_dimensions(warehouse):
    assert warehouse.execute(
        "select company_code, source_system, local_currency from marts.dim_companies"
        " where source_system = 'sap'"
    ).fetchall() == [("EPM1", "sap", "EUR")]
    partners = oracle.raw("businessPartner")
    customers = warehouse.execute(
        "select count(*) from marts.dim_customers where source_system = 'sap'"
    ).fetchone()[0]
    # every partner with the customer role (all 45 partners order or are customers: role 1 = 39)
    assert customers == (partners.PARTNERROLE == "1").sum() == 39
    suppliers = warehouse.execute(
        "select supplier_id from marts.dim_suppliers where source_system = 'sap'"
    ).df()
    on_orders = set(oracle.raw("purchaseOrder")["PARTNER.PARTNERID"])
    assert set(suppliers.supplier_id) == on_orders | set(
        partners.loc[partners.PARTNERROLE == "2", "PARTNERID"]
    )
    products = warehouse.execute(
        "select count(*) from marts.dim_products where source_system = 'sap'"
    ).fetchone()
    assert products == (len(oracle.raw("products")),)


# --- quality: real inconsistencies surface with counts ---------------------------------------------


def _violations(warehouse) -> dict[tuple[str, str], tuple[str, int]]:
    rows = warehouse.execute(
        "select model, rule_id, min(severity), count(*) from quarantine.rule_violations"
        " where model like 'int_sap_%' group by 1, 2"
    ).fetchall()
    return {(model, rule): (severity, count) for model, rule, severity, count in rows}


def test_the_inconsistencies_of_the_real_data_are_counted_under_their_severity(warehouse):
    so, soi = oracle.raw("salesOrder"), oracle.raw("salesOrderItem")
    po, poi = oracle.raw("purchaseOrder"), oracle.raw("purchaseOrderItem")
    partners = oracle.raw("businessPartner").set_index("PARTNERID")
    # header net vs the sum of its items as stored (SAP adds items of several currencies)
    item_sums = soi.assign(n=soi.NETAMOUNT.map(Decimal)).groupby("SALESORDERID").n.sum()
    header_vs_items = sum(
        Decimal(n) != item_sums.get(o, 0) for o, n in zip(so.SALESORDERID, so.NETAMOUNT, strict=True)
    )
    so_dates = dict(zip(so.SALESORDERID, so["HISTORY.CREATEDAT"], strict=True))
    po_dates = dict(zip(po.PURCHASEORDERID, po["HISTORY.CREATEDAT"], strict=True))
    so_currency = dict(zip(so.SALESORDERID, so.CURRENCY, strict=True))
    po_currency = dict(zip(po.PURCHASEORDERID, po.CURRENCY, strict=True))
    malformed = soi[~soi.SALESORDERITEM.str.isdigit()]
    expected = {
        ("int_sap_sales_orders_validated", "sap_header_vs_items"): ("warn", header_vs_items),
        ("int_sap_sales_orders_validated", "sap_changed_before_created"): (
            "warn",
            int((so["HISTORY.CHANGEDAT"] < so["HISTORY.CREATEDAT"]).sum()),
        ),
        ("int_sap_sales_orders_validated", "sap_item_quarantined"): (
            "quarantine",
            malformed.SALESORDERID.nunique(),
        ),
        ("int_sap_sales_order_items_validated", "sap_invalid_value"): ("quarantine", len(malformed)),
        ("int_sap_sales_order_items_validated", "sap_unknown_product"): (
            "quarantine",
            int((~soi["PRODUCT.PRODUCTID"].isin(oracle.raw("products").PRODUCTID)).sum()),
        ),
        ("int_sap_sales_order_items_validated", "sap_order_quarantined"): (
            "quarantine",
            int(soi.SALESORDERID.isin(malformed.SALESORDERID).sum()),
        ),
        ("int_sap_sales_order_items_validated", "sap_delivery_before_order"): (
            "warn",
            int((soi.SALESORDERID.map(so_dates) > soi.DELIVERYDATE).sum()),
        ),
        ("int_sap_sales_order_items_validated", "sap_item_currency_differs"): (
            "warn",
            int((soi.SALESORDERID.map(so_currency) != soi.CURRENCY).sum()),
        ),
        ("int_sap_purchase_orders_validated", "sap_partner_role_mismatch"): (
            "warn",
            int((po["PARTNER.PARTNERID"].map(partners.PARTNERROLE) != "2").sum()),
        ),
        ("int_sap_purchase_order_items_validated", "sap_delivery_before_order"): (
            "warn",
            int((poi.PURCHASEORDERID.map(po_dates) > poi.DELIVERYDATE).sum()),
        ),
        ("int_sap_purchase_order_items_validated", "sap_item_currency_differs"): (
            "warn",
            int((poi.PURCHASEORDERID.map(po_currency) != poi.CURRENCY).sum()),
        ),
    }
    assert _violations(warehouse) == expected
    # the numbers the README quotes
    assert header_vs_items == 109 and expected[
        ("int_sap_purchase_orders_validated", "sap_partner_role_mismatch")
    ] == ("warn", 1000)


def test_a_quarantined_sap_item_names_its_file_and_line(warehouse):
    row = warehouse.execute(
        "select record_key, source_file, source_line from quarantine.rule_violations"
        " where rule_id = 'sap_invalid_value'"
    ).fetchone()
    lines = (PROJECT_DIR / "data/reference/sap/salesOrderItem.csv").read_text().split("\n")
    key, file, line = row
    assert file.endswith("salesOrderItem.csv")
    assert lines[line - 1].startswith("500000745,10\tHT-,210,") and key == "500000745/10\tHT-"


def test_salary_and_bank_fields_never_leave_the_raw_file(warehouse):
    confidential = [c.lower() for c in sap.CONFIDENTIAL_COLUMNS] + ["salary", "bank", "account_number"]
    columns = warehouse.execute(
        "select table_schema, table_name, column_name from information_schema.columns"
    ).fetchall()
    leaks = [c for c in columns if any(word in c[2].lower().replace(".", "") for word in confidential)]
    assert not leaks
    staged = {c[2] for c in columns if c[1] == "stg_sap__employees"}
    assert staged and "employee_id" in staged
