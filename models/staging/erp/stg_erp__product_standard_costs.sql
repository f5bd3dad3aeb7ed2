with

source as (

    {{ raw_source('erp', 'product_standard_costs') }}

),

renamed as (

    select
        -- ids
        nullif(trim(product_id), '') as product_id,
        -- amounts
        cast(nullif(trim(standard_cost_eur), '') as decimal(18,4)) as standard_cost_eur,
        -- dates
        cast(nullif(trim(valid_from), '') as date) as valid_from,
        cast(nullif(trim(valid_to), '') as date) as valid_to,
        -- lineage
        'erp' as source_system,
        _source_file,
        _source_row

    from source

)

select * from renamed
