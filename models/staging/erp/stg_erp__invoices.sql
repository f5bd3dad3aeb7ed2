with

source as (

    {{ raw_source('erp', 'invoices') }}

),

renamed as (

    select
        -- ids
        nullif(trim(invoice_id), '') as invoice_id,
        nullif(trim(order_id), '') as order_id,
        nullif(trim(delivery_id), '') as delivery_id,
        nullif(trim(customer_id), '') as customer_id,
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

),

-- row-level rules (expectations/rules.yml); int_invoices_validated decides what leaves the flow
flagged as (

    select
        *,
        {{ rule_failures([
            rule('unknown_currency', "currency is null or currency not in ("
                ~ "'" ~ var('known_currencies') | join("', '") ~ "')"),
            rule('future_date', 'invoice_date > ' ~ as_of_date()),
            rule('closed_period_row', in_closed_period('invoice_date')),
        ]) }} as _rule_failures
    from renamed

)

select * from flagged
