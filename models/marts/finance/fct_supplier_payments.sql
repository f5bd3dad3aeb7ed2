-- Outgoing supplier payments, each clearing one supplier invoice, at the payment-date rate and at
-- the supplier-invoice-date rate (what left payables).

with

payments as (

    select * from {{ ref('stg_erp__supplier_payments') }}

),

supplier_invoices as (

    select * from {{ ref('stg_erp__supplier_invoices') }}

),

final as (

    select
        -- ids
        payments.payment_id,
        payments.supplier_invoice_id,
        payments.supplier_id,
        supplier_invoices.company_code,
        payments.source_system,
        -- attributes
        payments.currency,
        -- amounts
        payments.amount,
        {{ to_reporting('payments.amount', 'payments.currency', 'payment_rate.rate') }}
            as amount_reporting,
        {{ to_reporting('payments.amount', 'payments.currency', 'invoice_rate.rate') }}
            as amount_reporting_at_invoice_rate,
        -- dates
        payments.payment_date,
        supplier_invoices.invoice_date,
        supplier_invoices.due_date,
        cast(
            {{ dbt.datediff(
                'supplier_invoices.due_date', 'payments.payment_date', 'day'
            ) }} as integer
        )
            as days_after_due,
        -- lineage
        payments._source_file,
        payments._source_row

    from payments
    left join supplier_invoices
        on payments.supplier_invoice_id = supplier_invoices.supplier_invoice_id
    {{ join_rate('payment_rate', 'payments.currency', 'payments.payment_date') }}
    {{ join_rate('invoice_rate', 'payments.currency', 'supplier_invoices.invoice_date') }}

)

select * from final
