with

source as (

    {{ raw_source('crm', 'Account') }}

),

renamed as (

    select
        -- ids
        nullif(trim("Id"), '') as crm_account_id,
        -- attributes
        nullif(trim("Name"), '') as account_name,
        nullif(trim("ERP_Customer_Number__c"), '') as erp_customer_number_raw,
        nullif(trim("BillingCountry"), '') as billing_country,
        nullif(trim("Industry"), '') as industry,
        nullif(trim("Type"), '') as account_type,
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
