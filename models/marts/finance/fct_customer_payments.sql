-- Incoming customer payments, each clearing one invoice: the amount received, its value at the
-- payment-date rate (what reached the bank) and at the invoice-date rate (what left receivables).
-- Payments of a quarantined invoice are in quarantine.rule_violations (parent_quarantined).

with

payments as (

    {{ accepted('int_customer_payments_validated') }}

),

invoices as (

    {{ accepted('int_invoices_validated') }}

),

final as (

    select
        -- ids
        payments.payment_id,
        payments.invoice_id,
        payments.customer_id,
        invoices.company_code,
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
        invoices.invoice_date,
        invoices.due_date,
        cast(
            {{ dbt.datediff(
                'invoices.due_date', 'payments.payment_date', 'day'
            ) }} as integer
        )
            as days_after_due,
        -- lineage
        payments._source_file,
        payments._source_row

    from payments
    left join invoices
        on payments.invoice_id = invoices.invoice_id
    {{ join_rate('payment_rate', 'payments.currency', 'payments.payment_date') }}
    {{ join_rate('invoice_rate', 'payments.currency', 'invoices.invoice_date') }}

)

select * from final
