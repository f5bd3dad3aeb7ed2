with

source as (

    {{ raw_source('erp', 'suppliers') }}

),

renamed as (

    select
        -- ids
        nullif(trim(supplier_id), '') as supplier_id,
        nullif(trim(company_code), '') as company_code,
        -- attributes
        nullif(trim(supplier_name), '') as supplier_name,
        nullif(trim(country), '') as country,
        nullif(trim(currency), '') as currency,
        nullif(trim(category), '') as category,
        -- amounts
        cast(nullif(trim(payment_terms_days), '') as integer) as payment_terms_days,
        -- lineage
        'erp' as source_system,
        _source_file,
        _source_row

    from source

)

select * from renamed
