-- The opportunities of every CRM source (int_opportunities_unioned) with their own company and
-- source, the unified customer and the amount in the reporting currency (each source's validated
-- model converts it with the source's rates: rule unconvertible_amount). Won/lost is read from
-- the CRM flags, which are consistent with StageName.

with

opportunities as (

    select * from {{ ref('int_opportunities_unioned') }}

),

accounts as (

    select * from {{ ref('int_customers_matched') }}

),

final as (

    select
        -- ids
        opportunities.opportunity_id,
        opportunities.crm_account_id,
        accounts.customer_key,
        -- its own company and source, whatever the customer match
        opportunities.company_code,
        opportunities.source_system,
        -- attributes
        opportunities.opportunity_name,
        opportunities.stage_name,
        opportunities.is_closed,
        opportunities.is_won,
        opportunities.is_closed and not opportunities.is_won as is_lost,
        opportunities.currency,
        -- amounts
        opportunities.amount,
        opportunities.amount_reporting,
        opportunities.probability_pct,
        -- dates
        opportunities.created_at_utc,
        opportunities.created_date_local as created_date,
        opportunities.close_date,
        cast(
            {{ dbt.datediff(
                'opportunities.created_date_local', 'opportunities.close_date', 'day'
            ) }} as integer
        )
            as cycle_days,
        -- lineage
        opportunities._source_file,
        opportunities._source_row

    from opportunities
    left join accounts
        on opportunities.crm_account_id = accounts.crm_account_id

)

select * from final
