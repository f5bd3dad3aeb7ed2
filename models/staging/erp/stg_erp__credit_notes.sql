with

source as (

    {{ raw_source('erp', 'credit_notes') }}

),

renamed as (

    select
        -- ids
        nullif(trim(credit_note_id), '') as credit_note_id,
        nullif(trim(invoice_id), '') as invoice_id,
        nullif(trim(customer_id), '') as customer_id,
        -- attributes
        nullif(trim(currency), '') as currency,
        nullif(trim(reason), '') as reason,
        -- amounts
        cast(nullif(trim(net_amount), '') as decimal(18,2)) as net_amount,
        cast(nullif(trim(tax_amount), '') as decimal(18,2)) as tax_amount,
        cast(nullif(trim(gross_amount), '') as decimal(18,2)) as gross_amount,
        -- dates
        cast(nullif(trim(credit_date), '') as date) as credit_date,
        -- lineage
        'erp' as source_system,
        _source_file,
        _source_row

    from source

)

select * from renamed
