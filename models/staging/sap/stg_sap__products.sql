-- SAP products: category, list price in the product's currency (as stored), supplier.

with

source as (

    {{ raw_source('sap', 'products') }}

),

renamed as (

    select
        -- ids
        {{ sap_text('PRODUCTID') }} as product_id,
        {{ sap_text('NAMEID') }} as name_text_id,
        {{ sap_text('SUPPLIER.PARTNERID') }} as supplier_id,
        -- attributes (TYPECODE: domain D_PR_TYPE, PR product, AD advertisement)
        {{ sap_text('TYPECODE') }} as type_code,
        {{ sap_text('CATEGORY') }} as category,
        {{ sap_text('QUANTITYUNIT') }} as unit_of_measure,
        {{ sap_text('CURRENCY') }} as currency,
        -- amounts
        {{ sap_typed('PRICE', 'decimal(18, 2)') }} as list_price_stored,
        -- lineage
        'sap' as source_system,
        _source_file,
        _source_row

    from source

)

select * from renamed
