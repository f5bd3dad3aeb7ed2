with

source as (

    {{ raw_source('erp', 'purchase_orders') }}

),

renamed as (

    select
        -- ids
        nullif(trim(po_id), '') as po_id,
        nullif(trim(supplier_id), '') as supplier_id,
        nullif(trim(company_code), '') as company_code,
        -- attributes
        nullif(trim(currency), '') as currency,
        nullif(trim(status), '') as status,
        -- dates
        cast(nullif(trim(order_date), '') as date) as order_date,
        -- lineage
        'erp' as source_system,
        _source_file,
        _source_row

    from source

)

select * from renamed
