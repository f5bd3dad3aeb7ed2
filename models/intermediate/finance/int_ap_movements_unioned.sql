-- Every movement of a supplier invoice's open balance: the invoice and its payments, positive in
-- the transaction currency and converted at the supplier-invoice-date rate (see the AR twin).

with

supplier_invoices as (

    select
        supplier_invoices.*,
        -- the reporting currency converts at 1; a missing rate stays NULL (not_null tests)
        case
            when supplier_invoices.currency = '{{ var("reporting_currency") }}' then 1
            else rate.rate
        end as invoice_rate
    from {{ ref('stg_erp__supplier_invoices') }} as supplier_invoices
    {{ join_rate('rate', 'supplier_invoices.currency', 'supplier_invoices.invoice_date') }}

),

documents as (

    select
        supplier_invoice_id, 'invoiced' as movement_type, supplier_invoice_id as document_id,
        invoice_date as movement_date, gross_amount as amount
    from supplier_invoices

    union all

    select
        supplier_invoice_id, 'paid' as movement_type, payment_id as document_id,
        payment_date as movement_date, amount
    from {{ ref('stg_erp__supplier_payments') }}

),

final as (

    select
        -- ids
        documents.supplier_invoice_id,
        documents.document_id,
        supplier_invoices.supplier_id,
        supplier_invoices.company_code,
        supplier_invoices.source_system,
        -- attributes
        documents.movement_type,
        supplier_invoices.currency,
        -- amounts
        documents.amount,
        {{ telescoped_to_reporting(
            'documents.supplier_invoice_id',
            "case when documents.movement_type = 'invoiced' then documents.amount"
            ~ " else -documents.amount end",
            'supplier_invoices.invoice_rate',
            "documents.movement_date, documents.movement_type <> 'invoiced', documents.document_id",
        ) }} as amount_reporting,
        -- dates
        documents.movement_date,
        supplier_invoices.invoice_date,
        supplier_invoices.due_date

    from documents
    inner join supplier_invoices
        on documents.supplier_invoice_id = supplier_invoices.supplier_invoice_id
    where documents.movement_date <= {{ as_of_date() }}

)

select * from final
