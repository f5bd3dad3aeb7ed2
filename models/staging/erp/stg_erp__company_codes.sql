with

source as (

    {{ raw_source('erp', 'company_codes') }}

),

renamed as (

    select
        -- ids
        nullif(trim(company_code), '') as company_code,
        -- attributes
        nullif(trim(company_name), '') as company_name,
        nullif(trim(country), '') as country,
        nullif(trim(local_currency), '') as local_currency,
        -- lineage
        'erp' as source_system,
        _source_file,
        _source_row

    from source

)

select * from renamed
