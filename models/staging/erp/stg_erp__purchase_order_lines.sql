with

source as (

    {{ raw_source('erp', 'purchase_order_lines') }}

),

renamed as (

    select
        -- ids
        nullif(trim(po_id), '') as po_id,
        cast(nullif(trim(line_number), '') as integer) as line_number,
        nullif(trim(product_id), '') as product_id,
        -- amounts
        cast(nullif(trim(quantity), '') as decimal(18,3)) as quantity,
        cast(nullif(trim(unit_price), '') as decimal(18,4)) as unit_price,
        cast(nullif(trim(net_amount), '') as decimal(18,2)) as net_amount,
        -- dates
        cast(nullif(trim(promised_date), '') as date) as promised_date,
        -- lineage
        'erp' as source_system,
        _source_file,
        _source_row

    from source

)

select * from renamed
