with

source as (

    {{ raw_source('crm', 'Contact') }}

),

renamed as (

    select
        -- ids
        nullif(trim("Id"), '') as contact_id,
        nullif(trim("AccountId"), '') as crm_account_id,
        -- attributes
        nullif(trim("FirstName"), '') as first_name,
        nullif(trim("LastName"), '') as last_name,
        nullif(trim("Email"), '') as email,
        nullif(trim("Phone"), '') as phone,
        nullif(trim("Title"), '') as title,
        -- dates
        timezone('UTC', cast(nullif(trim("CreatedDate"), '') as timestamptz)) as created_at_utc,
        cast(left(trim("CreatedDate"), 10) as date) as created_date_local,
        -- lineage
        'crm' as source_system,
        _source_file,
        _source_row

    from source

)

select * from renamed
