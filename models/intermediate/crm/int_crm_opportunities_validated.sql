-- CRM opportunities with the amount in the reporting currency (the source's rates: its registry
-- entry's, else the group's; at the close-date rate, the as-of date's for a close still ahead)
-- and the rules a row breaks. An amount that cannot be converted is the rule
-- unconvertible_amount (expectations/rules.yml), never a silent NULL; a close before the creation
-- or a stage the source does not declare (its registry entry) quarantines the opportunity, whose
-- sales cycle or pipeline stage would otherwise be wrong.

with

staged as (

    select * from {{ ref('stg_crm__opportunities') }}

),

checked as (

    select
        staged.*,
        {{ to_reporting('staged.amount', 'staged.currency', 'rate.rate') }}
            as amount_reporting,
        {{ rule_failures([
            rule('unconvertible_amount',
                "staged.amount is not null and staged.currency <> '"
                ~ var('reporting_currency') ~ "' and rate.rate is null"),
            rule('opportunity_closed_before_created',
                'staged.close_date < staged.created_date_local'),
            rule('unknown_stage',
                not_declared_value('staged.stage_name', 'crm', 'Opportunity', 'StageName')),
        ]) }} as _rule_failures
    from staged
    {{ join_rate(
        'rate', 'staged.currency',
        'least(staged.close_date, ' ~ source_as_of_date('crm') ~ ')', 'crm'
    ) }}

)

select
    *,
    {{ is_quarantined('_rule_failures') }} as _quarantined
from checked
