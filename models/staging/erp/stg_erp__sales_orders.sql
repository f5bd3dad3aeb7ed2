with

source as (

    {{ raw_source('erp', 'sales_orders') }}

),

renamed as (

    select
        -- ids
        nullif(trim(order_id), '') as order_id,
        nullif(trim(customer_id), '') as customer_id,
        nullif(trim(company_code), '') as company_code,
        -- attributes
        nullif(trim(currency), '') as currency,
        nullif(trim(status), '') as status,
        nullif(trim(sales_channel), '') as sales_channel,
        -- dates
        cast(nullif(trim(order_date), '') as date) as order_date,
        -- lineage
        'erp' as source_system,
        _source_file,
        _source_row

    from source

)

select * from renamed
