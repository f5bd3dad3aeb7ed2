-- Revenue lines: every customer invoice line, and every credit note spread over the lines of the
-- invoice it credits (negative amounts). Revenue is the sum of net_amount_reporting by
-- revenue_date; cogs is the sum of standard_cost_reporting (credit notes return no goods).

{{ incremental_by_date('revenue_date') }}

with

invoice_lines as (

    select * from {{ ref('int_invoice_lines_converted') }}

),

credit_lines as (

    select * from {{ ref('int_credit_note_lines_allocated') }}

),

unioned as (

    select
        invoice_id as document_id,
        'invoice' as line_type,
        invoice_id,
        line_number,
        order_id,
        order_line_number,
        product_id,
        customer_id,
        company_code,
        source_system,
        currency,
        quantity,
        unit_price,
        net_amount,
        tax_amount,
        net_amount_reporting,
        tax_amount_reporting,
        unit_standard_cost_reporting,
        standard_cost_reporting,
        invoice_date as revenue_date,
        invoice_date,
        due_date,
        _source_file,
        _source_row
    from invoice_lines

    union all

    select
        credit_note_id as document_id,
        'credit_note' as line_type,
        invoice_id,
        line_number,
        order_id,
        order_line_number,
        product_id,
        customer_id,
        company_code,
        source_system,
        currency,
        0 as quantity,
        null as unit_price,
        -net_amount as net_amount,
        -tax_amount as tax_amount,
        -net_amount_reporting as net_amount_reporting,
        -tax_amount_reporting as tax_amount_reporting,
        null as unit_standard_cost_reporting,
        0 as standard_cost_reporting,
        credit_date as revenue_date,
        invoice_date,
        null as due_date,
        _source_file,
        _source_row
    from credit_lines

),

final as (

    select
        -- ids
        document_id || '-' || cast(line_number as {{ dbt.type_string() }}) as invoice_line_key,
        document_id,
        line_type,
        invoice_id,
        cast(line_number as integer) as line_number,
        order_id,
        cast(order_line_number as integer) as order_line_number,
        product_id,
        customer_id,
        company_code,
        source_system,
        -- attributes
        currency,
        -- amounts
        cast(quantity as decimal(18, 3)) as quantity,
        cast(unit_price as decimal(18, 4)) as unit_price,
        cast(net_amount as decimal(18, 2)) as net_amount,
        cast(tax_amount as decimal(18, 2)) as tax_amount,
        cast(net_amount + tax_amount as decimal(18, 2)) as gross_amount,
        cast(net_amount_reporting as decimal(18, 2)) as net_amount_reporting,
        cast(tax_amount_reporting as decimal(18, 2)) as tax_amount_reporting,
        cast(net_amount_reporting + tax_amount_reporting as decimal(18, 2))
            as gross_amount_reporting,
        cast(unit_standard_cost_reporting as decimal(18, 4)) as unit_standard_cost_reporting,
        cast(standard_cost_reporting as decimal(18, 2)) as standard_cost_reporting,
        -- dates
        cast(revenue_date as date) as revenue_date,
        cast(invoice_date as date) as invoice_date,
        cast(due_date as date) as due_date,
        -- lineage
        _source_file,
        cast(_source_row as bigint) as _source_row
    from unioned

)

select * from final
{{ incremental_window_filter('revenue_date') }}
