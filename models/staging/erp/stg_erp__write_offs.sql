with

source as (

    {{ raw_source('erp', 'write_offs') }}

),

renamed as (

    select
        -- ids
        nullif(trim(write_off_id), '') as write_off_id,
        nullif(trim(invoice_id), '') as invoice_id,
        nullif(trim(customer_id), '') as customer_id,
        -- attributes
        nullif(trim(currency), '') as currency,
        nullif(trim(reason), '') as reason,
        -- amounts
        cast(nullif(trim(amount), '') as decimal(18,2)) as amount,
        -- dates
        cast(nullif(trim(write_off_date), '') as date) as write_off_date,
        -- lineage
        'erp' as source_system,
        _source_file,
        _source_row

    from source

)

select * from renamed
