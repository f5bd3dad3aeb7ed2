-- SAP purchase order headers in the canonical names; status codes are decoded (constants.csv) in
-- int_sap_purchase_orders_validated.

with

source as (

    {{ raw_source('sap', 'purchase_orders') }}

),

renamed as (

    select
        -- ids
        {{ sap_text('PURCHASEORDERID') }} as po_id,
        {{ sap_text('PARTNER.PARTNERID') }} as supplier_id,
        {{ sap_text('HISTORY.CREATEDBY.EMPLOYEEID') }} as created_by_employee_id,
        -- codes (domains D_PO_LC, D_PO_AP, D_PO_CF, D_PO_OR, D_PO_IN of constants.csv)
        {{ sap_text('LIFECYCLESTATUS') }} as lifecycle_status_code,
        {{ sap_text('APPROVALSTATUS') }} as approval_status_code,
        {{ sap_text('CONFIRMSTATUS') }} as confirmation_status_code,
        {{ sap_text('ORDERINGSTATUS') }} as ordering_status_code,
        {{ sap_text('INVOICINGSTATUS') }} as invoicing_status_code,
        {{ sap_text('CURRENCY') }} as currency,
        -- amounts
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

flagged as (

    select
        *,
        {{ rule_failures([
            rule('sap_invalid_value',
                'po_id is null or supplier_id is null or order_date is null or net_amount is null'),
            rule('sap_future_date', "order_date > " ~ source_as_of_date('sap')),
            rule('sap_changed_before_created', 'changed_date < order_date'),
        ]) }} as _rule_failures
    from renamed

)

select * from flagged
