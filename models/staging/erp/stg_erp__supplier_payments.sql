with

source as (

    {{ raw_source('erp', 'supplier_payments') }}

),

renamed as (

    select
        -- ids
        nullif(trim(payment_id), '') as payment_id,
        nullif(trim(supplier_id), '') as supplier_id,
        nullif(trim(supplier_invoice_id), '') as supplier_invoice_id,
        -- attributes
        nullif(trim(currency), '') as currency,
        -- amounts
        cast(nullif(trim(amount), '') as decimal(18,2)) as amount,
        -- dates
        cast(nullif(trim(payment_date), '') as date) as payment_date,
        -- lineage
        'erp' as source_system,
        _source_file,
        _source_row

    from source

)

select * from renamed
