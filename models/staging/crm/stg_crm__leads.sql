with

source as (

    {{ raw_source('crm', 'Lead') }}

),

renamed as (

    select
        -- ids
        nullif(trim({{ adapter.quote('Id') }}), '') as lead_id,
        nullif(trim({{ adapter.quote('ConvertedAccountId') }}), '') as converted_account_id,
        -- attributes
        nullif(trim({{ adapter.quote('FirstName') }}), '') as first_name,
        nullif(trim({{ adapter.quote('LastName') }}), '') as last_name,
        nullif(trim({{ adapter.quote('Company') }}), '') as company_name,
        nullif(trim({{ adapter.quote('Email') }}), '') as email,
        nullif(trim({{ adapter.quote('Phone') }}), '') as phone,
        nullif(trim({{ adapter.quote('Status') }}), '') as lead_status,
        nullif(trim({{ adapter.quote('LeadSource') }}), '') as lead_source,
        -- flags
        cast(nullif(trim({{ adapter.quote('IsConverted') }}), '') as boolean) as is_converted,
        -- dates
        {{ utc_timestamp(adapter.quote('CreatedDate')) }} as created_at_utc,
        cast(left(trim({{ adapter.quote('CreatedDate') }}), 10) as date) as created_date_local,
        -- lineage
        'crm' as source_system,
        _source_file,
        _source_row

    from source

)

select * from renamed
