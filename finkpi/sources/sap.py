"""The SAP source (SAP SHINE EPM sample, `data/reference/sap/`): its raw-file contract and registry entry.

One entry per dbt source table of `models/staging/sap/_sap__sources.yml` (a test keeps the two
equal): the file it is read from and its columns, in SAP's own (dotted, upper-case) names. Every
column is read as text; types are the staging models' business, and a value that does not parse
there is a quarantine rule of this source, not a failed run (real SAP data has such rows).
The pre-flight check uses this contract for the structure of the files (encoding, header, field
counts) before dbt reads them.
"""

from __future__ import annotations

from finkpi.sources.registry import AsOfDate, Company, SourceSystem, tables_from_contract

# dbt source table -> (file name without .csv, columns)
TABLES: dict[str, tuple[str, list[str]]] = {
    "sales_orders": (
        "salesOrder",
        [
            "SALESORDERID",
            "HISTORY.CREATEDBY.EMPLOYEEID",
            "HISTORY.CREATEDAT",
            "HISTORY.CHANGEDBY.EMPLOYEEID",
            "HISTORY.CHANGEDAT",
            "NOTEID",
            "PARTNER.PARTNERID",
            "CURRENCY",
            "GROSSAMOUNT",
            "NETAMOUNT",
            "TAXAMOUNT",
            "LIFECYCLESTATUS",
            "BILLINGSTATUS",
            "DELIVERYSTATUS",
        ],
    ),
    "sales_order_items": (
        "salesOrderItem",
        [
            "SALESORDERID",
            "SALESORDERITEM",
            "PRODUCT.PRODUCTID",
            "NOTEID",
            "CURRENCY",
            "GROSSAMOUNT",
            "NETAMOUNT",
            "TAXAMOUNT",
            "ITEMATPSTATUS",
            "OPITEMPOS",
            "QUANTITY",
            "QUANTITYUNIT",
            "DELIVERYDATE",
        ],
    ),
    "purchase_orders": (
        "purchaseOrder",
        [
            "PURCHASEORDERID",
            "HISTORY.CREATEDBY.EMPLOYEEID",
            "HISTORY.CREATEDAT",
            "HISTORY.CHANGEDBY.EMPLOYEEID",
            "HISTORY.CHANGEDAT",
            "NOTEID",
            "PARTNER.PARTNERID",
            "CURRENCY",
            "GROSSAMOUNT",
            "NETAMOUNT",
            "TAXAMOUNT",
            "LIFECYCLESTATUS",
            "APPROVALSTATUS",
            "CONFIRMSTATUS",
            "ORDERINGSTATUS",
            "INVOICINGSTATUS",
        ],
    ),
    "purchase_order_items": (
        "purchaseOrderItem",
        [
            "PURCHASEORDERID",
            "PURCHASEORDERITEM",
            "PRODUCT.PRODUCTID",
            "NOTEID",
            "CURRENCY",
            "GROSSAMOUNT",
            "NETAMOUNT",
            "TAXAMOUNT",
            "QUANTITY",
            "QUANTITYUNIT",
            "DELIVERYDATE",
        ],
    ),
    "business_partners": (
        "businessPartner",
        [
            "PARTNERID",
            "PARTNERROLE",
            "EMAILADDRESS",
            "PHONENUMBER",
            "FAXNUMBER",
            "WEBADDRESS",
            "ADDRESSES.ADDRESSID",
            "COMPANYNAME",
            "LEGALFORM",
            "HISTORY.CREATEDBY.EMPLOYEEID",
            "HISTORY.CREATEDAT",
            "HISTORY.CHANGEDBY.EMPLOYEEID",
            "HISTORY.CHANGEDAT",
            "CURRENCY",
        ],
    ),
    "addresses": (
        "addresses",
        [
            "ADDRESSID",
            "CITY",
            "POSTALCODE",
            "STREET",
            "BUILDING",
            "COUNTRY",
            "REGION",
            "ADDRESSTYPE",
            "VALIDITY.STARTDATE",
            "VALIDITY.ENDDATE",
            "LATITUDE",
            "LONGITUDE",
        ],
    ),
    "products": (
        "products",
        [
            "PRODUCTID",
            "TYPECODE",
            "CATEGORY",
            "HISTORY.CREATEDBY.EMPLOYEEID",
            "HISTORY.CREATEDAT",
            "HISTORY.CHANGEDBY.EMPLOYEEID",
            "HISTORY.CHANGEDAT",
            "NAMEID",
            "DESCID",
            "SUPPLIER.PARTNERID",
            "TAXTARIFFCODE",
            "QUANTITYUNIT",
            "WEIGHTMEASURE",
            "WEIGHTUNIT",
            "CURRENCY",
            "PRICE",
            "PRODUCTPICURL",
            "WIDTH",
            "DEPTH",
            "HEIGHT",
            "DIMENSIONUNIT",
        ],
    ),
    "texts": ("texts", ["TEXTID", "LANGUAGE", "ISOLANGUAGE", "TEXT"]),
    "employees": (
        "employees",
        [
            "EMPLOYEEID",
            "NAME.FIRST",
            "NAME.MIDDLE",
            "NAME.LAST",
            "NAME.INITIALS",
            "SEX",
            "LANGUAGE",
            "PHONENUMBER",
            "EMAILADDRESS",
            "LOGINNAME",
            "ADDRESSES.ADDRESSID",
            "VALIDITY.STARTDATE",
            "VALIDITY.ENDDATE",
            "CURRENCY",
            "SALARYAMOUNT",
            "ACCOUNTNUMBER",
            "BANKID",
            "BANKNAME",
            "EMPLOYEEPICURL",
        ],
    ),
    "constants": ("constants", ["DOMAIN", "FIXEDVALUE", "LANGUAGE", "DESCRIPTION"]),
    "exchange_rates": ("TCURR", ["MANDT", "KURST", "FCURR", "TCURR", "GDATU", "UKURS", "FFACT", "TFACT"]),
    "currency_factors": (
        "TCURF",
        ["MANDT", "KURST", "FCURR", "TCURR", "GDATU", "FFACT", "TFACT", "ABWCT", "ABWGA"],
    ),
    "currency_decimals": ("TCURX", ["CURRKEY", "CURRDEC"]),
    "currencies": ("TCURC", ["MANDT", "WAERS", "ISOCD", "ALTWR", "GDATU", "XPRIMARY"]),
}

# Employee fields that never leave the raw file: staging does not select them (README, SAP source).
CONFIDENTIAL_COLUMNS = ("SALARYAMOUNT", "ACCOUNTNUMBER", "BANKID", "BANKNAME")

KEYS: dict[str, tuple[str, ...]] = {
    "sales_orders": ("SALESORDERID",),
    "sales_order_items": ("SALESORDERID", "SALESORDERITEM"),
    "purchase_orders": ("PURCHASEORDERID",),
    "purchase_order_items": ("PURCHASEORDERID", "PURCHASEORDERITEM"),
    "business_partners": ("PARTNERID",),
    "addresses": ("ADDRESSID",),
    "products": ("PRODUCTID",),
    "texts": ("TEXTID", "LANGUAGE"),
    "employees": ("EMPLOYEEID",),
    "constants": ("DOMAIN", "FIXEDVALUE", "LANGUAGE"),
    "exchange_rates": ("MANDT", "KURST", "FCURR", "TCURR", "GDATU"),
    "currency_factors": ("MANDT", "KURST", "FCURR", "TCURR", "GDATU"),
    "currency_decimals": ("CURRKEY",),
    "currencies": ("MANDT", "WAERS"),
}

SOURCE = SourceSystem(
    name="sap",
    kind="erp",
    description="SAP SHINE EPM sample company (real SAP data): sales and purchase orders, partners, products",
    # Every SAP column is text until staging judges it (rule sap_invalid_value), so the contract's
    # types are varchar.
    tables=tables_from_contract(
        {
            table: [(column, "varchar", "") for column in columns]
            for table, (_file, columns) in TABLES.items()
        },
        KEYS,
        files={table: file for table, (file, _columns) in TABLES.items()},
    ),
    folder_env="FINKPI_SAP_DIR",
    default_folder="data/reference/sap",
    raw_format="csv",
    # a company of its own with its own history (2014-2022): its freshness and "future date"
    # rules are judged against its latest sales order, not the sample company's date
    as_of=AsOfDate("sales_orders", "HISTORY.CREATEDAT"),
    as_of_env="FINKPI_SAP_AS_OF_DATE",
    company=Company("EPM1"),  # in dim_companies from the seed sap_company_codes
    # SAP converts in its own models, with TCURR resolved through TCURF's ratios and alternative
    # rate types (int_sap_exchange_rates_resolved, macros/sap.sql: sap_join_rate; rule
    # sap_missing_exchange_rate); join_rate, were it used, would take the group's rates
    rates_model=None,
    rules_file="expectations/rules/sap.yml",
)


# What the SAP extract can honestly feed into the metric layer (README, "Adding a source system").
# The supported metrics are computed across both ERPs and per source_system and company_code.
SUPPORTED_METRICS = (
    "orders_booked",
    "order_intake",
    "average_order_value",
    "purchase_volume",
    "active_suppliers",
)
# The others, with the reason: the extract has no such documents. Nothing is derived to fill them.
UNSUPPORTED_METRICS = {
    "revenue": "no invoices or credit notes (a billing status per order, no billing documents)",
    "cogs": "no invoices and no standard costs",
    "gross_profit": "no invoices and no standard costs",
    "gross_margin_pct": "no invoices and no standard costs",
    "cogs_variances": "no general ledger",
    "pnl_gross_margin_pct": "no invoices, no standard costs and no general ledger",
    "revenue_growth_yoy": "no invoices",
    "active_customers": "defined as customers invoiced in the period; the extract has no invoices",
    "new_customers": "defined by the first invoice; the extract has no invoices",
    "repeat_purchase_rate": "built from active and new customers (invoices)",
    "operating_expense": "no general ledger",
    "cost_ratio": "no general ledger",
    "operating_margin_pct": "no general ledger",
    "net_operating_cash_flow": "no general ledger or payments",
    "dso": "no receivables (invoices, payments)",
    "dpo": "no payables (supplier invoices, payments)",
    "dio": "no inventory movements",
    "cash_conversion_cycle": "no receivables, payables or inventory",
    "inventory_turnover": "no inventory movements",
    "ar_collection_rate": "no receivables",
    "overdue_ar_ratio": "no receivables",
    "unit_production_cost": "no production orders",
    "scrap_rate": "no production orders",
    "purchase_price_variance": "no goods receipts and no standard costs",
    "supplier_on_time_rate": "no goods receipts (a delivery date is requested, never confirmed)",
    "on_time_delivery_rate": "no delivery documents (a delivery status per order, no delivery dates)",
    "otif_rate": "no delivery documents",
    "complaint_rate": "no service cases and no deliveries",
    "avg_first_response_hours": "no service cases",
    "avg_resolution_hours": "no service cases",
    "open_cases": "no service cases",
    "win_rate": "no CRM opportunities",
    "sales_cycle_days": "no CRM opportunities",
}
