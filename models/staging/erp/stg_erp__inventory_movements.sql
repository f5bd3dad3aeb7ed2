with

source as (

    {{ raw_source('erp', 'inventory_movements') }}

),

renamed as (

    select
        -- ids
        nullif(trim(movement_id), '') as movement_id,
        nullif(trim(product_id), '') as product_id,
        nullif(trim(reference_id), '') as reference_id,
        -- attributes
        nullif(trim(movement_type), '') as movement_type,
        -- amounts
        cast(nullif(trim(quantity), '') as decimal(18,3)) as quantity,
        cast(nullif(trim(value_eur), '') as decimal(18,2)) as value_eur,
        -- dates
        cast(nullif(trim(movement_date), '') as date) as movement_date,
        -- lineage
        'erp' as source_system,
        _source_file,
        _source_row

    from source

)

select * from renamed
