-- Every CRM contact with the quality rules it breaks (expectations/rules.yml). A quarantined
-- contact is kept in quarantine.rule_violations with its personal fields hashed.

with

contacts as (

    select * from {{ ref('stg_crm__contacts') }}

),

accounts as (

    select crm_account_id from {{ ref('stg_crm__accounts') }}

),

checked as (

    select
        contacts.*,
        {{ rule_failures([
            rule('orphan_contact',
                'contacts.crm_account_id is not null and accounts.crm_account_id is null'),
        ]) }} as _rule_failures
    from contacts
    left join accounts
        on contacts.crm_account_id = accounts.crm_account_id

)

select
    *,
    {{ is_quarantined('_rule_failures') }} as _quarantined
from checked
