with

source as (

    {{ raw_source('erp', 'gl_journal_entries') }}

),

renamed as (

    select
        -- ids
        nullif(trim(entry_id), '') as entry_id,
        cast(nullif(trim(line_number), '') as integer) as line_number,
        nullif(trim(document_id), '') as document_id,
        nullif(trim(account_id), '') as account_id,
        nullif(trim(cost_center_id), '') as cost_center_id,
        nullif(trim(company_code), '') as company_code,
        -- attributes
        nullif(trim(document_type), '') as document_type,
        nullif(trim(currency), '') as currency,
        -- amounts
        cast(nullif(trim(amount), '') as decimal(18,2)) as amount,
        cast(nullif(trim(amount_eur), '') as decimal(18,2)) as amount_eur,
        -- dates
        cast(nullif(trim(posting_date), '') as date) as posting_date,
        -- lineage
        'erp' as source_system,
        _source_file,
        _source_row

    from source

)

select * from renamed
