-- SAP sales order items in the canonical names. Amounts are in the item's own currency as SAP
-- stores them (two decimals); int_sap_sales_order_items_converted shifts them by TCURX.

with

source as (

    {{ raw_source('sap', 'sales_order_items') }}

),

renamed as (

    select
        -- ids
        {{ sap_text('SALESORDERID') }} as order_id,
        -- '10', '20', ...; the raw text is kept, a malformed one fails sap_invalid_value
        {{ sap_text('SALESORDERITEM') }} as item_number_text,
        {{ sap_typed('SALESORDERITEM', 'integer') }} as line_number,
        {{ sap_text('PRODUCT.PRODUCTID') }} as product_id,
        -- attributes
        {{ sap_text('CURRENCY') }} as currency,
        {{ sap_text('QUANTITYUNIT') }} as unit_of_measure,
        {{ sap_text('ITEMATPSTATUS') }} as availability_status_code,
        -- amounts
        {{ sap_typed('QUANTITY', 'decimal(18, 3)') }} as quantity,
        {{ sap_typed('NETAMOUNT', 'decimal(18, 2)') }} as net_amount_stored,
        {{ sap_typed('TAXAMOUNT', 'decimal(18, 2)') }} as tax_amount_stored,
        {{ sap_typed('GROSSAMOUNT', 'decimal(18, 2)') }} as gross_amount_stored,
        -- dates
        {{ sap_typed('DELIVERYDATE', 'date') }} as promised_date,
        -- lineage
        'sap' as source_system,
        _source_file,
        _source_row

    from source

),

flagged as (

    select
        *,
        {{ rule_failures([
            rule('sap_invalid_value',
                'order_id is null or line_number is null or product_id is null or currency is null'
                ~ ' or quantity is null or net_amount_stored is null'),
        ]) }} as _rule_failures
    from renamed

)

select * from flagged
