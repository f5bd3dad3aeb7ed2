with

source as (

    {{ raw_source('crm', 'Lead') }}

),

renamed as (

    select
        -- ids
        nullif(trim("Id"), '') as lead_id,
        nullif(trim("ConvertedAccountId"), '') as converted_account_id,
        -- attributes
        nullif(trim("FirstName"), '') as first_name,
        nullif(trim("LastName"), '') as last_name,
        nullif(trim("Company"), '') as company_name,
        nullif(trim("Email"), '') as email,
        nullif(trim("Phone"), '') as phone,
        nullif(trim("Status"), '') as lead_status,
        nullif(trim("LeadSource"), '') as lead_source,
        -- flags
        cast(nullif(trim("IsConverted"), '') as boolean) as is_converted,
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
