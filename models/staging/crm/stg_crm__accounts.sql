with

source as (

    {{ raw_source('crm', 'Account') }}

),

renamed as (

    select
        -- ids
        nullif(trim({{ adapter.quote('Id') }}), '') as crm_account_id,
        -- attributes
        nullif(trim({{ adapter.quote('Name') }}), '') as account_name,
        nullif(trim({{ adapter.quote('ERP_Customer_Number__c') }}), '') as erp_customer_number_raw,
        nullif(trim({{ adapter.quote('BillingCountry') }}), '') as billing_country,
        nullif(trim({{ adapter.quote('Industry') }}), '') as industry,
        nullif(trim({{ adapter.quote('Type') }}), '') as account_type,
        -- dates
        {{ utc_timestamp(adapter.quote('CreatedDate')) }} as created_at_utc,
        cast(left(trim({{ adapter.quote('CreatedDate') }}), 10) as date) as created_date_local,
        -- lineage: the CRM's rows carry no company code; the source's own (var 'sources')
        {{ source_company_code('crm') }} as company_code,
        'crm' as source_system,
        _source_file,
        _source_row

    from source

)

select * from renamed
