with

source as (

    {{ raw_source('crm', 'Opportunity') }}

),

renamed as (

    select
        -- ids
        nullif(trim("Id"), '') as opportunity_id,
        nullif(trim("AccountId"), '') as crm_account_id,
        -- attributes
        nullif(trim("Name"), '') as opportunity_name,
        nullif(trim("StageName"), '') as stage_name,
        nullif(trim("CurrencyIsoCode"), '') as currency,
        -- flags
        cast(nullif(trim("IsClosed"), '') as boolean) as is_closed,
        cast(nullif(trim("IsWon"), '') as boolean) as is_won,
        -- amounts
        cast(nullif(trim("Amount"), '') as decimal(18,2)) as amount,
        cast(nullif(trim("Probability"), '') as decimal(9,2)) as probability_pct,
        -- dates
        timezone('UTC', cast(nullif(trim("CreatedDate"), '') as timestamptz)) as created_at_utc,
        cast(left(trim("CreatedDate"), 10) as date) as created_date_local,
        cast(nullif(trim("CloseDate"), '') as date) as close_date,
        -- lineage
        'crm' as source_system,
        _source_file,
        _source_row

    from source

)

select * from renamed
