-- Credit notes carry header amounts only. Revenue must still slice by product, so each credit
-- note is spread over the lines of the invoice it credits, pro rata to line net amount. The
-- rounding remainder goes to the invoice's last line, so the allocated lines sum to the header
-- to the cent. Converted at the credited invoice's rate: the ledger reverses receivables at the
-- rate they were booked at.
--
-- Rounded the way the source's ledger posts (reporting_rounding, as int_invoice_lines_converted):
-- per document, the credit note's net in the reporting currency is the receivable it clears
-- (int_ar_movements_unioned: round(open before x rate) - round(open after x rate)) less its tax
-- round(tax x rate), what the ledger posts on sales deductions, spread pro rata. Per line: each
-- line's share converted and rounded by itself.

with

credit_notes as (

    {{ accepted('int_credit_notes_validated') }}

),

cleared as (

    select
        document_id as credit_note_id,
        amount_reporting as cleared_reporting
    from {{ ref('int_ar_movements_unioned') }}
    where movement_type = 'credited'

),

invoice_lines as (

    select * from {{ ref('int_invoice_lines_converted') }}

),

shares as (

    select
        credit_notes.credit_note_id,
        credit_notes.credit_date,
        credit_notes.reason,
        credit_notes.net_amount as credit_net,
        credit_notes.tax_amount as credit_tax,
        -- a credit note dated after as_of_date has cleared nothing yet: its gross, converted
        coalesce(
            cleared.cleared_reporting,
            {{ to_reporting(
                'credit_notes.gross_amount', 'invoice_lines.currency', 'invoice_lines.rate_to_reporting'
            ) }}
        )
        - {{ to_reporting(
            'credit_notes.tax_amount', 'invoice_lines.currency', 'invoice_lines.rate_to_reporting'
        ) }}
            as credit_net_reporting,
        {{ to_reporting(
            'credit_notes.tax_amount', 'invoice_lines.currency', 'invoice_lines.rate_to_reporting'
        ) }}
            as credit_tax_reporting,
        {{ rounds_per_document('invoice_lines.source_system') }} as rounds_per_document,
        invoice_lines.*,
        sum(invoice_lines.net_amount) over (partition by credit_notes.credit_note_id)
            as invoice_net_amount,
        row_number() over (
            partition by credit_notes.credit_note_id order by invoice_lines.line_number desc
        ) = 1 as is_last_line,
        credit_notes._source_file as credit_source_file,
        credit_notes._source_row as credit_source_row

    from credit_notes
    inner join invoice_lines
        on credit_notes.invoice_id = invoice_lines.invoice_id
    left join cleared
        on credit_notes.credit_note_id = cleared.credit_note_id

),

rounded as (

    select
        *,
        {{ prorated_cents('credit_net', 'net_amount', 'invoice_net_amount') }} as rounded_net,
        {{ prorated_cents('credit_tax', 'net_amount', 'invoice_net_amount') }} as rounded_tax,
        {{ prorated_cents('credit_net_reporting', 'net_amount', 'invoice_net_amount') }}
            as rounded_net_reporting,
        {{ prorated_cents('credit_tax_reporting', 'net_amount', 'invoice_net_amount') }}
            as rounded_tax_reporting
    from shares

),

allocated as (

    select
        *,
        {{ allocate_remainder('credit_net', 'rounded_net') }} as allocated_net,
        {{ allocate_remainder('credit_tax', 'rounded_tax') }} as allocated_tax,
        {{ allocate_remainder('credit_net_reporting', 'rounded_net_reporting') }}
            as allocated_net_reporting,
        {{ allocate_remainder('credit_tax_reporting', 'rounded_tax_reporting') }}
            as allocated_tax_reporting
    from rounded

),

final as (

    select
        -- ids
        credit_note_id,
        invoice_id,
        line_number,
        order_id,
        order_line_number,
        product_id,
        customer_id,
        company_code,
        source_system,
        -- attributes
        currency,
        reason,
        -- amounts (positive: the amount credited)
        cast(allocated_net as decimal(18, 2)) as net_amount,
        cast(allocated_tax as decimal(18, 2)) as tax_amount,
        rate_to_reporting,
        cast(case
            when rounds_per_document then allocated_net_reporting
            else {{ to_reporting('allocated_net', 'currency', 'rate_to_reporting') }}
        end as decimal(18, 2)) as net_amount_reporting,
        cast(case
            when rounds_per_document then allocated_tax_reporting
            else {{ to_reporting('allocated_tax', 'currency', 'rate_to_reporting') }}
        end as decimal(18, 2)) as tax_amount_reporting,
        -- dates
        credit_date,
        invoice_date,
        -- lineage
        credit_source_file as _source_file,
        credit_source_row as _source_row
    from allocated

)

select * from final
