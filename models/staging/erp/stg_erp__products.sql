with

source as (

    {{ raw_source('erp', 'products') }}

),

renamed as (

    select
        -- ids
        nullif(trim(product_id), '') as product_id,
        -- attributes
        nullif(trim(product_name), '') as product_name,
        nullif(trim(product_type), '') as product_type,
        nullif(trim(category), '') as category,
        nullif(trim(unit_of_measure), '') as unit_of_measure,
        -- amounts
        cast(nullif(trim(list_price_eur), '') as decimal(18,2)) as list_price_eur,
        -- lineage
        'erp' as source_system,
        _source_file,
        _source_row

    from source

)

select * from renamed
