-- Invoice lines with their header, converted to the reporting currency at the invoice-date rate,
-- and costed at the standard cost valid on the invoice date (the basis of cogs). Incremental by
-- invoice date, as fct_invoice_lines (README, "Incremental runs"): a line depends on its own
-- invoice and on the rate and the standard cost of that day.

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
            as net_amount_reporting,
        {{ to_reporting('lines.tax_amount', 'invoices.currency', 'rate.rate') }}
            as tax_amount_reporting,
        standard_cost.standard_cost_eur as unit_standard_cost_reporting,
        cast(round(lines.quantity * standard_cost.standard_cost_eur, 2) as decimal(18, 2))
            as standard_cost_reporting,
        -- dates
        invoices.invoice_date,
        invoices.due_date,
        -- lineage
        lines._source_file,
        lines._source_row

    from lines
    inner join invoices
        on lines.invoice_id = invoices.invoice_id
    {{ join_rate('rate', 'invoices.currency', 'invoices.invoice_date') }}
    {{ join_standard_cost('standard_cost', 'lines.product_id', 'invoices.invoice_date') }}

)

select * from joined
