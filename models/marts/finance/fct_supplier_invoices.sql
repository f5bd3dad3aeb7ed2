-- Supplier invoices (one per goods receipt), converted at the invoice-date rate.

with

supplier_invoices as (

    select * from {{ ref('stg_erp__supplier_invoices') }}

),

final as (

    select
        -- ids
        supplier_invoices.supplier_invoice_id,
        supplier_invoices.supplier_id,
        supplier_invoices.po_id,
        supplier_invoices.receipt_id,
        supplier_invoices.company_code,
        supplier_invoices.source_system,
        -- attributes
        supplier_invoices.currency,
        -- amounts
        supplier_invoices.net_amount,
        supplier_invoices.tax_amount,
        supplier_invoices.gross_amount,
        {{ to_reporting(
            'supplier_invoices.net_amount', 'supplier_invoices.currency', 'rate.rate'
        ) }}
            as net_amount_reporting,
        {{ to_reporting(
            'supplier_invoices.gross_amount', 'supplier_invoices.currency', 'rate.rate'
        ) }}
            as gross_amount_reporting,
        -- dates
        supplier_invoices.invoice_date,
        supplier_invoices.due_date,
        -- lineage
        supplier_invoices._source_file,
        supplier_invoices._source_row

    from supplier_invoices
    {{ join_rate('rate', 'supplier_invoices.currency', 'supplier_invoices.invoice_date') }}

)

select * from final
