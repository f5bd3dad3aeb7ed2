with

source as (

    {{ raw_source('erp', 'goods_receipts') }}

),

renamed as (

    select
        -- ids
        nullif(trim(receipt_id), '') as receipt_id,
        nullif(trim(po_id), '') as po_id,
        cast(nullif(trim(po_line_number), '') as integer) as po_line_number,
        nullif(trim(product_id), '') as product_id,
        -- amounts
        cast(nullif(trim(quantity), '') as decimal(18,3)) as quantity,
        -- dates
        cast(nullif(trim(promised_date), '') as date) as promised_date,
        cast(nullif(trim(receipt_date), '') as date) as receipt_date,
        -- lineage
        'erp' as source_system,
        _source_file,
        _source_row

    from source

)

select * from renamed
