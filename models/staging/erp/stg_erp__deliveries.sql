with

source as (

    {{ raw_source('erp', 'deliveries') }}

),

renamed as (

    select
        -- ids
        nullif(trim(delivery_id), '') as delivery_id,
        nullif(trim(order_id), '') as order_id,
        cast(nullif(trim(order_line_number), '') as integer) as order_line_number,
        -- amounts
        cast(nullif(trim(quantity_ordered), '') as decimal(18,3)) as quantity_ordered,
        cast(nullif(trim(quantity_shipped), '') as decimal(18,3)) as quantity_shipped,
        -- dates
        cast(nullif(trim(promised_date), '') as date) as promised_date,
        cast(nullif(trim(actual_date), '') as date) as actual_date,
        -- lineage
        'erp' as source_system,
        _source_file,
        _source_row

    from source

)

select * from renamed
