with

source as (

    {{ raw_source('erp', 'production_orders') }}

),

renamed as (

    select
        -- ids
        nullif(trim(production_order_id), '') as production_order_id,
        nullif(trim(product_id), '') as product_id,
        -- attributes
        nullif(trim(status), '') as status,
        -- amounts
        cast(nullif(trim(planned_quantity), '') as decimal(18,3)) as planned_quantity,
        cast(nullif(trim(actual_quantity), '') as decimal(18,3)) as actual_quantity,
        cast(nullif(trim(good_quantity), '') as decimal(18,3)) as good_quantity,
        cast(nullif(trim(scrapped_quantity), '') as decimal(18,3)) as scrapped_quantity,
        cast(nullif(trim(actual_cost_eur), '') as decimal(18,2)) as actual_cost_eur,
        -- dates
        cast(nullif(trim(start_date), '') as date) as start_date,
        cast(nullif(trim(finish_date), '') as date) as finish_date,
        -- lineage
        'erp' as source_system,
        _source_file,
        _source_row

    from source

)

select * from renamed
