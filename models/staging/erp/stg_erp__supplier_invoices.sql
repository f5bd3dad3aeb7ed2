with

source as (

    {{ raw_source('erp', 'supplier_invoices') }}

),

renamed as (

    select
        -- ids
        nullif(trim(supplier_invoice_id), '') as supplier_invoice_id,
        nullif(trim(supplier_id), '') as supplier_id,
        nullif(trim(po_id), '') as po_id,
        nullif(trim(receipt_id), '') as receipt_id,
        nullif(trim(company_code), '') as company_code,
        -- attributes
        nullif(trim(currency), '') as currency,
        -- amounts
        cast(nullif(trim(net_amount), '') as decimal(18,2)) as net_amount,
        cast(nullif(trim(tax_amount), '') as decimal(18,2)) as tax_amount,
        cast(nullif(trim(gross_amount), '') as decimal(18,2)) as gross_amount,
        -- dates
        cast(nullif(trim(invoice_date), '') as date) as invoice_date,
        cast(nullif(trim(due_date), '') as date) as due_date,
        -- lineage
        'erp' as source_system,
        _source_file,
        _source_row

    from source

)

select * from renamed
