-- Invoice lines with their header, converted to the reporting currency at the invoice-date rate,
-- and costed at the standard cost valid on the invoice date (the basis of cogs). Incremental by
-- invoice date, as fct_invoice_lines (README, "Incremental runs"): a line depends on its own
-- invoice and on the rate and the standard cost of that day.
--
-- Rounded the way the source's ledger posts (its registry entry's reporting_rounding): per
-- document, the invoice's net is round(gross x rate) - round(tax x rate) and its tax
-- round(tax x rate), what the ledger posts on revenue and output VAT; each line is converted by
-- itself and the last line takes the rounding difference, so the lines add up to the posting to
-- the cent. Per line: every line converted and rounded by itself.

{{ incremental_by_date('invoice_date') }}

with

lines as (

    {{ accepted('int_invoice_lines_validated') }}

),

invoices as (

    select * from ({{ accepted('int_invoices_validated') }}) as accepted_invoices
    {{ incremental_window_filter('invoice_date') }}

),

joined as (

    select
        -- ids
        lines.invoice_id,
        lines.line_number,
        lines.order_id,
        lines.order_line_number,
        lines.product_id,
        invoices.customer_id,
        invoices.company_code,
        invoices.source_system,
        -- attributes
        invoices.currency,
        -- amounts
        lines.quantity,
        lines.unit_price,
        lines.net_amount,
        lines.tax_rate,
        lines.tax_amount,
        rate.rate as rate_to_reporting,
        {{ to_reporting('lines.net_amount', 'invoices.currency', 'rate.rate') }}
            as line_net_reporting,
        {{ to_reporting('lines.tax_amount', 'invoices.currency', 'rate.rate') }}
            as line_tax_reporting,
        {{ to_reporting('invoices.gross_amount', 'invoices.currency', 'rate.rate') }}
        - {{ to_reporting('invoices.tax_amount', 'invoices.currency', 'rate.rate') }}
            as document_net_reporting,
        {{ to_reporting('invoices.tax_amount', 'invoices.currency', 'rate.rate') }}
            as document_tax_reporting,
        standard_cost.standard_cost_eur as unit_standard_cost_reporting,
        cast(round(lines.quantity * standard_cost.standard_cost_eur, 2) as decimal(18, 2))
            as standard_cost_reporting,
        -- dates
        invoices.invoice_date,
        invoices.due_date,
        -- lineage
        lines._source_file,
        lines._source_row,
        -- rounding
        {{ rounds_per_document('invoices.source_system') }} as rounds_per_document,
        row_number() over (partition by lines.invoice_id order by lines.line_number desc) = 1
            as is_last_line

    from lines
    inner join invoices
        on lines.invoice_id = invoices.invoice_id
    {{ join_rate('rate', 'invoices.currency', 'invoices.invoice_date') }}
    {{ join_standard_cost('standard_cost', 'lines.product_id', 'invoices.invoice_date') }}

),

rounded as (

    select
        *,
        case
            when rounds_per_document
                then {{ allocate_remainder(
                    'document_net_reporting', 'line_net_reporting', 'invoice_id'
                ) }}
            else line_net_reporting
        end as net_amount_reporting,
        case
            when rounds_per_document
                then {{ allocate_remainder(
                    'document_tax_reporting', 'line_tax_reporting', 'invoice_id'
                ) }}
            else line_tax_reporting
        end as tax_amount_reporting
    from joined

),

final as (

    select
        -- ids
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
        -- amounts
        quantity,
        unit_price,
        net_amount,
        tax_rate,
        tax_amount,
        rate_to_reporting,
        cast(net_amount_reporting as decimal(18, 2)) as net_amount_reporting,
        cast(tax_amount_reporting as decimal(18, 2)) as tax_amount_reporting,
        unit_standard_cost_reporting,
        standard_cost_reporting,
        -- dates
        invoice_date,
        due_date,
        -- lineage
        _source_file,
        _source_row
    from rounded

)

select * from final
