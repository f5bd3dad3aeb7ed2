-- CRM service cases with the rules a row breaks (expectations/rules.yml): a case closed before it
-- was opened, or a status or priority the source does not declare (its registry entry), is
-- quarantined, since its resolution time or its place in the open backlog would be wrong.

with

staged as (

    select * from {{ ref('stg_crm__cases') }}

),

checked as (

    select
        staged.*,
        {{ rule_failures([
            rule('case_closed_before_created', 'staged.closed_at_utc < staged.created_at_utc'),
            rule('unknown_case_status',
                not_declared_value('staged.case_status', 'crm', 'Case', 'Status')),
            rule('unknown_case_priority',
                not_declared_value('staged.priority', 'crm', 'Case', 'Priority')),
        ]) }} as _rule_failures
    from staged

)

select
    *,
    {{ is_quarantined('_rule_failures') }} as _quarantined
from checked
