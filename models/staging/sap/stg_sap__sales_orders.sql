-- SAP sales order headers in the canonical names. Status codes stay codes here; their meanings
-- (constants.csv) are joined in int_sap_sales_orders_validated, since staging does not join.

with

source as (

    {{ raw_source('sap', 'sales_orders') }}

),

renamed as (

    select
        -- ids
        {{ sap_text('SALESORDERID') }} as order_id,
        {{ sap_text('PARTNER.PARTNERID') }} as customer_id,
        {{ sap_text('HISTORY.CREATEDBY.EMPLOYEEID') }} as created_by_employee_id,
        -- codes (domains D_SO_LC, D_SO_CF, D_SO_OR of constants.csv)
        {{ sap_text('LIFECYCLESTATUS') }} as lifecycle_status_code,
        {{ sap_text('BILLINGSTATUS') }} as billing_status_code,
        {{ sap_text('DELIVERYSTATUS') }} as delivery_status_code,
        {{ sap_text('CURRENCY') }} as currency,
        -- amounts (the header's; the items carry their own currency)
        {{ sap_typed('NETAMOUNT', 'decimal(18, 2)') }} as net_amount,
        {{ sap_typed('TAXAMOUNT', 'decimal(18, 2)') }} as tax_amount,
        {{ sap_typed('GROSSAMOUNT', 'decimal(18, 2)') }} as gross_amount,
        -- dates
        {{ sap_typed('HISTORY.CREATEDAT', 'date') }} as order_date,
        {{ sap_typed('HISTORY.CHANGEDAT', 'date') }} as changed_date,
        -- lineage
        'sap' as source_system,
        _source_file,
        _source_row

    from source

),

-- row-level rules (expectations/rules.yml); int_sap_sales_orders_validated decides what leaves
flagged as (

    select
        *,
        {{ rule_failures([
            rule('sap_invalid_value',
                'order_id is null or customer_id is null or order_date is null or net_amount is null'),
            rule('sap_future_date', "order_date > " ~ source_as_of_date('sap')),
            rule('sap_changed_before_created', 'changed_date < order_date'),
        ]) }} as _rule_failures
    from renamed

)

select * from flagged
