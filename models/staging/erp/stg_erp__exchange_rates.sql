with

source as (

    {{ raw_source('erp', 'exchange_rates') }}

),

renamed as (

    select
        -- attributes
        nullif(trim(from_currency), '') as from_currency,
        nullif(trim(to_currency), '') as to_currency,
        -- amounts
        cast(nullif(trim(rate), '') as decimal(18,8)) as rate,
        -- dates
        cast(nullif(trim(rate_date), '') as date) as rate_date,
        -- lineage
        'erp' as source_system,
        _source_file,
        _source_row

    from source

)

select * from renamed
