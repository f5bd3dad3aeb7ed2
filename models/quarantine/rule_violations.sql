-- One row per row and rule it breaks, from every validated model (and the ERP exchange rates,
-- whose one rule needs no validated model): the rule, its severity and threshold, the model, the
-- record's key, file and line, and the row's values (personal fields hashed). Quarantined rows
-- are here and nowhere downstream; warned rows are here and downstream.
-- Kept in the build warehouse only, never published.

{{ rule_violations(
    'int_gl_journal_entries_validated', 'stg_erp__gl_journal_entries',
    "flagged.entry_id || '/' || cast(flagged.line_number as " ~ dbt.type_string() ~ ")",
    detail='flagged._rule_detail',
) }}

union all

{{ rule_violations('int_invoices_validated', 'stg_erp__invoices', 'flagged.invoice_id') }}

union all

{{ rule_violations(
    'stg_erp__exchange_rates', 'stg_erp__exchange_rates',
    "flagged.from_currency || ' ' || flagged.rate_date",
) }}

union all

{{ rule_violations(
    'int_invoice_lines_validated', 'stg_erp__invoice_lines',
    "flagged.invoice_id || '/' || flagged.line_number",
) }}

union all

{{ rule_violations(
    'int_customer_payments_validated', 'stg_erp__customer_payments', 'flagged.payment_id',
    parent='flagged.invoice_id',
) }}

union all

{{ rule_violations(
    'int_credit_notes_validated', 'stg_erp__credit_notes', 'flagged.credit_note_id',
    parent='flagged.invoice_id',
) }}

union all

{{ rule_violations(
    'int_write_offs_validated', 'stg_erp__write_offs', 'flagged.write_off_id',
    parent='flagged.invoice_id',
) }}

union all

{{ rule_violations(
    'int_contacts_validated', 'stg_crm__contacts', 'flagged.contact_id',
    pii=['first_name', 'last_name', 'email', 'phone'],
) }}

union all

{{ rule_violations(
    'int_crm_opportunities_validated', 'stg_crm__opportunities', 'flagged.opportunity_id',
) }}

union all

{{ rule_violations('int_crm_cases_validated', 'stg_crm__cases', 'flagged.case_id') }}

union all

{{ rule_violations('int_sap_sales_orders_validated', 'stg_sap__sales_orders', 'flagged.order_id') }}

union all

{{ rule_violations(
    'int_sap_sales_order_items_validated', 'stg_sap__sales_order_items',
    "flagged.order_id || '/' || flagged.item_number_text", parent='flagged.order_id',
) }}

union all

{{ rule_violations(
    'int_sap_purchase_orders_validated', 'stg_sap__purchase_orders', 'flagged.po_id',
) }}

union all

{{ rule_violations(
    'int_sap_purchase_order_items_validated', 'stg_sap__purchase_order_items',
    "flagged.po_id || '/' || flagged.item_number_text", parent='flagged.po_id',
) }}
