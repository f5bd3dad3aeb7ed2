-- CRM opportunities with the amount in the reporting currency (the source's rates: its registry
-- entry's, else the group's; at the close-date rate, the as-of date's for a close still ahead)
-- and the rules a row breaks. An amount that cannot be converted is the rule
-- unconvertible_amount (expectations/rules.yml), never a silent NULL.

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
