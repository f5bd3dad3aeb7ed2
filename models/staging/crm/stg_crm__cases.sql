with

source as (

    {{ raw_source('crm', 'Case') }}

),

renamed as (

    select
        -- ids
        nullif(trim({{ adapter.quote('Id') }}), '') as case_id,
        nullif(trim({{ adapter.quote('CaseNumber') }}), '') as case_number,
        nullif(trim({{ adapter.quote('AccountId') }}), '') as crm_account_id,
        nullif(trim({{ adapter.quote('ContactId') }}), '') as contact_id,
        nullif(trim({{ adapter.quote('ERP_Order_Number__c') }}), '') as order_id,
        -- attributes
        nullif(trim({{ adapter.quote('Type') }}), '') as case_type,
        nullif(trim({{ adapter.quote('Reason') }}), '') as case_reason,
        nullif(trim({{ adapter.quote('Priority') }}), '') as priority,
        nullif(trim({{ adapter.quote('Status') }}), '') as case_status,
        nullif(trim({{ adapter.quote('Origin') }}), '') as origin,
        nullif(trim({{ adapter.quote('TimeZoneSidKey') }}), '') as time_zone,
        -- dates
        {{ utc_timestamp(adapter.quote('CreatedDate')) }} as created_at_utc,
        cast(left(trim({{ adapter.quote('CreatedDate') }}), 10) as date) as created_date_local,
        {{ utc_timestamp(adapter.quote('First_Response_Date__c')) }}
            as first_response_at_utc,
        cast(left(trim({{ adapter.quote('First_Response_Date__c') }}), 10) as date)
            as first_response_date_local,
        {{ utc_timestamp(adapter.quote('ClosedDate')) }} as closed_at_utc,
        cast(left(trim({{ adapter.quote('ClosedDate') }}), 10) as date) as closed_date_local,
        -- lineage: the CRM's rows carry no company code; the source's own (var 'sources')
        {{ source_company_code('crm') }} as company_code,
        'crm' as source_system,
        _source_file,
        _source_row

    from source

)

select * from renamed
