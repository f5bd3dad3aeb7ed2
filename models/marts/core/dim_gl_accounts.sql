-- The chart of accounts, with the groups metrics are defined on.

select
    -- ids
    account_id,
    source_system,
    -- attributes
    account_name,
    account_type,
    account_group,
    cash_flow_category,
    is_control_account
from {{ ref('stg_erp__gl_accounts') }}
