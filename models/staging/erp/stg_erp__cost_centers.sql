with

source as (

    {{ raw_source('erp', 'cost_centers') }}

),

renamed as (

    select
        -- ids
        nullif(trim(cost_center_id), '') as cost_center_id,
        -- attributes
        nullif(trim(cost_center_name), '') as cost_center_name,
        nullif(trim(department), '') as department,
        -- lineage
        'erp' as source_system,
        _source_file,
        _source_row

    from source

)

select * from renamed
