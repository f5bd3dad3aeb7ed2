with

source as (

    {{ raw_source('crm', 'Case') }}

),

renamed as (

    select
        -- ids
        nullif(trim("Id"), '') as case_id,
        nullif(trim("CaseNumber"), '') as case_number,
        nullif(trim("AccountId"), '') as crm_account_id,
        nullif(trim("ContactId"), '') as contact_id,
        nullif(trim("ERP_Order_Number__c"), '') as order_id,
        -- attributes
        nullif(trim("Type"), '') as case_type,
        nullif(trim("Reason"), '') as case_reason,
        nullif(trim("Priority"), '') as priority,
        nullif(trim("Status"), '') as case_status,
        nullif(trim("Origin"), '') as origin,
        nullif(trim("TimeZoneSidKey"), '') as time_zone,
        -- dates
        timezone('UTC', cast(nullif(trim("CreatedDate"), '') as timestamptz)) as created_at_utc,
        cast(left(trim("CreatedDate"), 10) as date) as created_date_local,
        timezone('UTC', cast(nullif(trim("First_Response_Date__c"), '') as timestamptz))
            as first_response_at_utc,
        cast(left(trim("First_Response_Date__c"), 10) as date) as first_response_date_local,
        timezone('UTC', cast(nullif(trim("ClosedDate"), '') as timestamptz)) as closed_at_utc,
        cast(left(trim("ClosedDate"), 10) as date) as closed_date_local,
        -- lineage
        'crm' as source_system,
        _source_file,
        _source_row

    from source

)

select * from renamed
