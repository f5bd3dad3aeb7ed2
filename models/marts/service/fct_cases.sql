-- The service cases of every CRM source (int_cases_unioned) with the unified customer,
-- response and resolution times in hours (computed on UTC instants, so daylight-saving changes
-- do not distort them) and the service desk's local creation date, which assigns a case to a
-- period.

with

cases as (

    select * from {{ ref('int_cases_unioned') }}

),

accounts as (

    select * from {{ ref('int_customers_matched') }}

),

final as (

    select
        -- ids
        cases.case_id,
        cases.case_number,
        cases.crm_account_id,
        accounts.customer_key,
        cases.order_id,
        -- its own company and source, whatever the customer match
        cases.company_code,
        cases.source_system,
        -- attributes
        cases.case_type,
        cases.case_type = 'Complaint' as is_complaint,
        cases.case_reason,
        cases.priority,
        cases.case_status,
        cases.origin,
        cases.time_zone,
        -- durations
        {{ seconds_between('cases.created_at_utc', 'cases.first_response_at_utc') }} / 3600.0
            as first_response_hours,
        {{ seconds_between('cases.created_at_utc', 'cases.closed_at_utc') }} / 3600.0
            as resolution_hours,
        -- dates
        cases.created_at_utc,
        cases.first_response_at_utc,
        cases.closed_at_utc,
        cases.created_date_local as created_date,
        -- lineage
        cases._source_file,
        cases._source_row

    from cases
    left join accounts
        on cases.crm_account_id = accounts.crm_account_id

)

select * from final
