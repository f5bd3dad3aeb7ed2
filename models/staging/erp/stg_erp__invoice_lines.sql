with

source as (

    {{ raw_source('erp', 'invoice_lines') }}

),

renamed as (

    select
        -- ids
        nullif(trim(invoice_id), '') as invoice_id,
        cast(nullif(trim(line_number), '') as integer) as line_number,
        nullif(trim(order_id), '') as order_id,
        cast(nullif(trim(order_line_number), '') as integer) as order_line_number,
        nullif(trim(product_id), '') as product_id,
        -- amounts
        cast(nullif(trim(quantity), '') as decimal(18,3)) as quantity,
        cast(nullif(trim(unit_price), '') as decimal(18,4)) as unit_price,
        cast(nullif(trim(net_amount), '') as decimal(18,2)) as net_amount,
        cast(nullif(trim(tax_rate), '') as decimal(9,4)) as tax_rate,
        cast(nullif(trim(tax_amount), '') as decimal(18,2)) as tax_amount,
        -- lineage
        'erp' as source_system,
        _source_file,
        _source_row

    from source

),

-- row-level rules (expectations/rules.yml); int_invoice_lines_validated applies them
flagged as (

    select
        *,
        {{ rule_failures([
            rule('negative_quantity', 'quantity < 0'),
        ]) }} as _rule_failures
    from renamed

)

select * from flagged
