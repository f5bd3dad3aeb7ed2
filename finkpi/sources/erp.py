"""The sample company's ERP (`<data_dir>/erp/`): its raw-file contract and registry entry.

Each table is one file (`erp/<table>.csv`, or `.parquet` at scale). Every column is written as
text; the staging models cast it to the type given here. Columns are snake_case the way a
mid-size ERP exports them.

Formats:
- dates: ISO `YYYY-MM-DD`.
- money: plain decimals with a dot, two places, in the row's `currency` (transaction currency)
  unless the column name ends in `_eur`.
- signs: GL amounts are debit positive, credit negative. Inventory movement quantities are signed
  (receipts positive, issues negative).

Tests check that the generator (finkpi/generate/) writes exactly these columns in this order and
that every table here is a dbt source with these columns (models/staging/erp/_erp__sources.yml).
"""

from __future__ import annotations

from finkpi.sources.registry import AsOfDate, SourceSystem, tables_from_contract

# table -> list of (column, type, description). Types are DuckDB types used by staging casts.
CONTRACT: dict[str, list[tuple[str, str, str]]] = {
    "company_codes": [
        ("company_code", "varchar", "legal entity key"),
        ("company_name", "varchar", "legal name"),
        ("country", "varchar", "ISO country code"),
        ("local_currency", "varchar", "ISO currency of the books"),
    ],
    "exchange_rates": [
        ("rate_date", "date", "calendar day the rate applies to (every day, weekends included)"),
        ("from_currency", "varchar", "transaction currency"),
        ("to_currency", "varchar", "always EUR (the reporting currency)"),
        ("rate", "decimal(18,8)", "EUR per one unit of from_currency"),
    ],
    "customers": [
        ("customer_id", "varchar", "ERP customer number, e.g. C000123"),
        ("customer_name", "varchar", "legal name"),
        ("country", "varchar", "ISO country code"),
        ("region", "varchar", "sales region"),
        ("segment", "varchar", "Enterprise | Mid-Market | Small Business"),
        ("currency", "varchar", "invoicing currency"),
        ("payment_terms_days", "integer", "net days until an invoice is due"),
        ("created_date", "date", "customer master created"),
        ("company_code", "varchar", "legal entity"),
    ],
    "products": [
        ("product_id", "varchar", "material number"),
        ("product_name", "varchar", "description"),
        ("product_type", "varchar", "finished | material"),
        ("category", "varchar", "product category"),
        ("unit_of_measure", "varchar", "EA or KG"),
        ("list_price_eur", "decimal(18,2)", "list price of a finished good, EUR"),
    ],
    "product_standard_costs": [
        ("product_id", "varchar", "material number"),
        ("valid_from", "date", "first day the cost applies (inclusive)"),
        ("valid_to", "date", "first day it no longer applies (exclusive); 9999-12-31 if open"),
        ("standard_cost_eur", "decimal(18,4)", "standard cost per unit, EUR"),
    ],
    "sales_orders": [
        ("order_id", "varchar", "sales order number"),
        ("customer_id", "varchar", "sold-to customer"),
        ("order_date", "date", "booking date"),
        ("currency", "varchar", "transaction currency"),
        ("status", "varchar", "open | delivered | cancelled"),
        ("sales_channel", "varchar", "direct | distributor | web"),
        ("company_code", "varchar", "legal entity"),
    ],
    "sales_order_lines": [
        ("order_id", "varchar", "sales order number"),
        ("line_number", "integer", "line within the order"),
        ("product_id", "varchar", "finished good ordered"),
        ("quantity", "decimal(18,3)", "ordered quantity"),
        ("unit_price", "decimal(18,4)", "net unit price in the order currency"),
        ("discount_pct", "decimal(9,4)", "line discount, 0.05 = 5%"),
        ("net_amount", "decimal(18,2)", "quantity x unit_price x (1 - discount_pct), rounded"),
        ("promised_date", "date", "delivery date promised to the customer"),
    ],
    "deliveries": [
        ("delivery_id", "varchar", "delivery (shipment) number, one per order"),
        ("order_id", "varchar", "sales order"),
        ("order_line_number", "integer", "sales order line"),
        ("promised_date", "date", "promised delivery date of the line"),
        ("actual_date", "date", "date delivered to the customer"),
        ("quantity_ordered", "decimal(18,3)", "ordered quantity of the line"),
        ("quantity_shipped", "decimal(18,3)", "quantity delivered (short shipments are not backordered)"),
    ],
    "invoices": [
        ("invoice_id", "varchar", "invoice number"),
        ("order_id", "varchar", "sales order invoiced"),
        ("delivery_id", "varchar", "delivery invoiced"),
        ("customer_id", "varchar", "bill-to customer"),
        ("invoice_date", "date", "invoice date (= delivery date)"),
        ("due_date", "date", "invoice_date + payment terms"),
        ("currency", "varchar", "transaction currency"),
        ("net_amount", "decimal(18,2)", "sum of line net amounts"),
        ("tax_amount", "decimal(18,2)", "sum of line tax amounts"),
        ("gross_amount", "decimal(18,2)", "net + tax"),
        ("company_code", "varchar", "legal entity"),
    ],
    "invoice_lines": [
        ("invoice_id", "varchar", "invoice number"),
        ("line_number", "integer", "line within the invoice"),
        ("order_id", "varchar", "sales order"),
        ("order_line_number", "integer", "sales order line"),
        ("product_id", "varchar", "finished good"),
        ("quantity", "decimal(18,3)", "invoiced quantity (= shipped)"),
        ("unit_price", "decimal(18,4)", "net unit price after discount"),
        ("net_amount", "decimal(18,2)", "line net amount"),
        ("tax_rate", "decimal(9,4)", "VAT rate, 0.19 = 19%"),
        ("tax_amount", "decimal(18,2)", "line tax amount"),
    ],
    "credit_notes": [
        ("credit_note_id", "varchar", "credit note number"),
        ("invoice_id", "varchar", "invoice credited"),
        ("customer_id", "varchar", "customer"),
        ("credit_date", "date", "credit note date"),
        ("currency", "varchar", "currency of the invoice"),
        ("net_amount", "decimal(18,2)", "net amount credited (positive)"),
        ("tax_amount", "decimal(18,2)", "tax credited (positive)"),
        ("gross_amount", "decimal(18,2)", "net + tax (positive)"),
        ("reason", "varchar", "price dispute | damaged goods | late delivery penalty"),
    ],
    "customer_payments": [
        ("payment_id", "varchar", "incoming payment"),
        ("customer_id", "varchar", "payer"),
        ("invoice_id", "varchar", "invoice cleared"),
        ("payment_date", "date", "value date"),
        ("currency", "varchar", "currency of the invoice"),
        ("amount", "decimal(18,2)", "amount received (positive)"),
    ],
    "write_offs": [
        ("write_off_id", "varchar", "bad-debt write-off"),
        ("invoice_id", "varchar", "invoice written off"),
        ("customer_id", "varchar", "customer"),
        ("write_off_date", "date", "posting date"),
        ("currency", "varchar", "currency of the invoice"),
        ("amount", "decimal(18,2)", "amount written off (positive)"),
        ("reason", "varchar", "why"),
    ],
    "suppliers": [
        ("supplier_id", "varchar", "supplier number"),
        ("supplier_name", "varchar", "legal name"),
        ("country", "varchar", "ISO country code"),
        ("currency", "varchar", "invoicing currency"),
        ("payment_terms_days", "integer", "net days until due"),
        ("category", "varchar", "material category supplied"),
        ("company_code", "varchar", "legal entity"),
    ],
    "purchase_orders": [
        ("po_id", "varchar", "purchase order number"),
        ("supplier_id", "varchar", "supplier"),
        ("order_date", "date", "date placed"),
        ("currency", "varchar", "transaction currency"),
        ("status", "varchar", "open | received | cancelled | rejected"),
        ("company_code", "varchar", "legal entity"),
    ],
    "purchase_order_lines": [
        ("po_id", "varchar", "purchase order number"),
        ("line_number", "integer", "line within the order"),
        ("product_id", "varchar", "material ordered"),
        ("quantity", "decimal(18,3)", "ordered quantity"),
        ("unit_price", "decimal(18,4)", "agreed unit price in the order currency"),
        ("net_amount", "decimal(18,2)", "quantity x unit_price, rounded"),
        ("promised_date", "date", "delivery date promised by the supplier"),
    ],
    "goods_receipts": [
        ("receipt_id", "varchar", "goods receipt document"),
        ("po_id", "varchar", "purchase order"),
        ("po_line_number", "integer", "purchase order line"),
        ("product_id", "varchar", "material received"),
        ("promised_date", "date", "promised date of the line"),
        ("receipt_date", "date", "date received"),
        ("quantity", "decimal(18,3)", "quantity received"),
    ],
    "supplier_invoices": [
        ("supplier_invoice_id", "varchar", "supplier invoice document"),
        ("supplier_id", "varchar", "supplier"),
        ("po_id", "varchar", "purchase order"),
        ("receipt_id", "varchar", "goods receipt invoiced (one invoice per receipt)"),
        ("invoice_date", "date", "invoice date (= receipt date)"),
        ("due_date", "date", "invoice_date + payment terms"),
        ("currency", "varchar", "transaction currency"),
        ("net_amount", "decimal(18,2)", "received quantity x PO unit price"),
        ("tax_amount", "decimal(18,2)", "input VAT"),
        ("gross_amount", "decimal(18,2)", "net + tax"),
        ("company_code", "varchar", "legal entity"),
    ],
    "supplier_payments": [
        ("payment_id", "varchar", "outgoing payment"),
        ("supplier_id", "varchar", "payee"),
        ("supplier_invoice_id", "varchar", "supplier invoice cleared"),
        ("payment_date", "date", "value date"),
        ("currency", "varchar", "currency of the invoice"),
        ("amount", "decimal(18,2)", "amount paid (positive)"),
    ],
    "inventory_movements": [
        ("movement_id", "varchar", "material document"),
        ("product_id", "varchar", "material or finished good"),
        ("movement_date", "date", "posting date"),
        (
            "movement_type",
            "varchar",
            "goods_receipt | production_consumption | production_output | sales_issue | revaluation",
        ),
        ("reference_id", "varchar", "receipt, production order or delivery that caused it"),
        ("quantity", "decimal(18,3)", "signed quantity (0 for revaluation)"),
        ("value_eur", "decimal(18,2)", "signed value at standard cost, EUR"),
    ],
    "production_orders": [
        ("production_order_id", "varchar", "production order"),
        ("product_id", "varchar", "finished good produced"),
        ("start_date", "date", "production start"),
        ("finish_date", "date", "production finish"),
        ("planned_quantity", "decimal(18,3)", "quantity planned"),
        ("actual_quantity", "decimal(18,3)", "quantity produced = good + scrapped"),
        ("good_quantity", "decimal(18,3)", "good units delivered to stock"),
        ("scrapped_quantity", "decimal(18,3)", "scrapped units"),
        ("actual_cost_eur", "decimal(18,2)", "materials at standard + actual conversion cost, EUR"),
        ("status", "varchar", "completed"),
    ],
    "gl_accounts": [
        ("account_id", "varchar", "GL account number"),
        ("account_name", "varchar", "name"),
        ("account_type", "varchar", "asset | liability | equity | revenue | expense"),
        (
            "account_group",
            "varchar",
            "cash | receivables | payables | inventory | tax | revenue | cogs | opex | other_income | "
            "fixed_assets | loans | equity | accruals",
        ),
        ("cash_flow_category", "varchar", "operating | investing | financing (of a counter-posting to cash)"),
        ("is_control_account", "boolean", "true for subledger control accounts (AR, AP, inventory)"),
    ],
    "cost_centers": [
        ("cost_center_id", "varchar", "cost center"),
        ("cost_center_name", "varchar", "name"),
        ("department", "varchar", "one of the six departments"),
    ],
    "gl_journal_entries": [
        ("entry_id", "varchar", "journal entry (document)"),
        ("line_number", "integer", "line within the entry"),
        ("posting_date", "date", "posting date"),
        (
            "document_type",
            "varchar",
            "invoice | credit_note | customer_payment | write_off | supplier_invoice | supplier_payment | "
            "goods_receipt | production | sales_issue | revaluation | payroll | expense | capex | loan | fx",
        ),
        ("document_id", "varchar", "subledger document the entry comes from"),
        ("account_id", "varchar", "GL account"),
        ("cost_center_id", "varchar", "cost center (expense lines; empty otherwise)"),
        ("currency", "varchar", "transaction currency"),
        ("amount", "decimal(18,2)", "signed amount in transaction currency (debit +)"),
        ("amount_eur", "decimal(18,2)", "signed amount in EUR (debit +); every entry sums to 0"),
        ("company_code", "varchar", "legal entity"),
    ],
}

KEYS: dict[str, tuple[str, ...]] = {
    "company_codes": ("company_code",),
    "exchange_rates": ("rate_date", "from_currency", "to_currency"),
    "customers": ("customer_id",),
    "products": ("product_id",),
    "product_standard_costs": ("product_id", "valid_from"),
    "sales_orders": ("order_id",),
    "sales_order_lines": ("order_id", "line_number"),
    "deliveries": ("order_id", "order_line_number"),
    "invoices": ("invoice_id",),
    "invoice_lines": ("invoice_id", "line_number"),
    "credit_notes": ("credit_note_id",),
    "customer_payments": ("payment_id",),
    "write_offs": ("write_off_id",),
    "suppliers": ("supplier_id",),
    "purchase_orders": ("po_id",),
    "purchase_order_lines": ("po_id", "line_number"),
    "goods_receipts": ("receipt_id", "po_line_number"),
    "supplier_invoices": ("supplier_invoice_id",),
    "supplier_payments": ("payment_id",),
    "inventory_movements": ("movement_id",),
    "production_orders": ("production_order_id",),
    "gl_accounts": ("account_id",),
    "cost_centers": ("cost_center_id",),
    "gl_journal_entries": ("entry_id", "line_number"),
}

# The transaction tables: a delivery brings the records booked since the last one, never a
# restated record (SourceTable.appends), each dated by its column or, for lines, by its header's
# (SourceTable.dated_by). Master data, rates, accounts and production orders (whose file is not
# in booking order) are delivered whole.
APPENDS: dict[str, str | tuple[str, str]] = {
    "sales_orders": "order_date",
    "sales_order_lines": ("sales_orders", "order_id"),
    "deliveries": "actual_date",
    "invoices": "invoice_date",
    "invoice_lines": ("invoices", "invoice_id"),
    "credit_notes": "credit_date",
    "customer_payments": "payment_date",
    "write_offs": "write_off_date",
    "purchase_orders": "order_date",
    "purchase_order_lines": ("purchase_orders", "po_id"),
    "goods_receipts": "receipt_date",
    "supplier_invoices": "invoice_date",
    "supplier_payments": "payment_date",
    "inventory_movements": "movement_date",
    "gl_journal_entries": "posting_date",
}

SOURCE = SourceSystem(
    name="erp",
    kind="erp",
    description="the sample company's ERP: orders, deliveries, billing, procurement, production, ledger",
    tables=tables_from_contract(CONTRACT, KEYS, appends=APPENDS),
    # the run's business date: the last day with a booked sales order (it moves only when the
    # ERP books something new; FINKPI_AS_OF_DATE overrides it)
    as_of=AsOfDate("sales_orders", "order_date"),
    sets_run_date=True,
    rates_model="stg_erp__exchange_rates",
    # its ledger posts an invoice's revenue as round(gross x rate) - round(tax x rate) and a credit
    # note's as the receivable it clears less its rounded tax, once per document
    # (finkpi/generate/finance_gl.py)
    reporting_rounding="document",
)
