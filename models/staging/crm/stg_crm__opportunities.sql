with

source as (

    {{ raw_source('crm', 'Opportunity') }}

),

renamed as (

    select
        -- ids
        nullif(trim({{ adapter.quote('Id') }}), '') as opportunity_id,
        nullif(trim({{ adapter.quote('AccountId') }}), '') as crm_account_id,
        -- attributes
        nullif(trim({{ adapter.quote('Name') }}), '') as opportunity_name,
        nullif(trim({{ adapter.quote('StageName') }}), '') as stage_name,
        nullif(trim({{ adapter.quote('CurrencyIsoCode') }}), '') as currency,
        -- flags
        cast(nullif(trim({{ adapter.quote('IsClosed') }}), '') as boolean) as is_closed,
        cast(nullif(trim({{ adapter.quote('IsWon') }}), '') as boolean) as is_won,
        -- amounts
        cast(nullif(trim({{ adapter.quote('Amount') }}), '') as decimal(18,2)) as amount,
        cast(nullif(trim({{ adapter.quote('Probability') }}), '') as decimal(9,2))
            as probability_pct,
        -- dates
        {{ utc_timestamp(adapter.quote('CreatedDate')) }} as created_at_utc,
        cast(left(trim({{ adapter.quote('CreatedDate') }}), 10) as date) as created_date_local,
        cast(nullif(trim({{ adapter.quote('CloseDate') }}), '') as date) as close_date,
        -- lineage: the CRM's rows carry no company code; the source's own (var 'sources')
        {{ source_company_code('crm') }} as company_code,
        'crm' as source_system,
        _source_file,
        _source_row

    from source

)

select * from renamed
