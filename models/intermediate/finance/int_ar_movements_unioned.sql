-- Every movement of a customer invoice's open balance, one row per document: the invoice itself,
-- payments, credit notes and write-offs. Amounts are positive in the transaction currency and
-- converted at the invoice-date rate (receivables stay at their booked rate until cleared; the
-- difference to the payment-date rate is an FX result, not a receivable), rounded the way the
-- ledger posts them (see the telescoped_to_reporting macro).

with

invoices as (

    select
        invoices.*,
        -- the reporting currency converts at 1; a missing rate stays NULL (not_null tests)
        case
            when invoices.currency = '{{ var("reporting_currency") }}' then 1
            else rate.rate
        end as invoice_rate
    from ({{ accepted('int_invoices_validated') }}) as invoices
    {{ join_rate('rate', 'invoices.currency', 'invoices.invoice_date') }}

),

documents as (

    select
        invoice_id, 'invoiced' as movement_type, invoice_id as document_id,
        invoice_date as movement_date, gross_amount as amount
    from invoices

    union all

    select
        invoice_id, 'collected' as movement_type, payment_id as document_id,
        payment_date as movement_date, amount
    from ({{ accepted('int_customer_payments_validated') }}) as customer_payments

    union all

    select
        invoice_id, 'credited' as movement_type, credit_note_id as document_id,
        credit_date as movement_date, gross_amount as amount
    from ({{ accepted('int_credit_notes_validated') }}) as credit_notes

    union all

    select
        invoice_id, 'written_off' as movement_type, write_off_id as document_id,
        write_off_date as movement_date, amount
    from ({{ accepted('int_write_offs_validated') }}) as write_offs

),

final as (

    select
        -- ids
        documents.invoice_id,
        documents.document_id,
        invoices.customer_id,
        invoices.company_code,
        invoices.source_system,
        -- attributes
        documents.movement_type,
        invoices.currency,
        -- amounts
        documents.amount,
        {{ telescoped_to_reporting(
            'documents.invoice_id',
            "case when documents.movement_type = 'invoiced' then documents.amount"
            ~ " else -documents.amount end",
            'invoices.invoice_rate',
            "documents.movement_date, documents.movement_type <> 'invoiced', documents.document_id",
        ) }} as amount_reporting,
        -- dates
        documents.movement_date,
        invoices.invoice_date,
        invoices.due_date

    from documents
    inner join invoices
        on documents.invoice_id = invoices.invoice_id
    where documents.movement_date <= {{ as_of_date() }}

)

select * from final
