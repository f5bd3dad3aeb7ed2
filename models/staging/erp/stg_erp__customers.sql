with

source as (

    {{ raw_source('erp', 'customers') }}

),

renamed as (

    select
        -- ids
        nullif(trim(customer_id), '') as customer_id,
        nullif(trim(company_code), '') as company_code,
        -- attributes
        nullif(trim(customer_name), '') as customer_name,
        nullif(trim(country), '') as country,
        nullif(trim(region), '') as region,
        nullif(trim(segment), '') as segment,
        nullif(trim(currency), '') as currency,
        -- amounts
        cast(nullif(trim(payment_terms_days), '') as integer) as payment_terms_days,
        -- dates
        cast(nullif(trim(created_date), '') as date) as created_date,
        -- lineage
        'erp' as source_system,
        _source_file,
        _source_row

    from source

)

select * from renamed
