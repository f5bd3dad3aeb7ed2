-- The ledger reconciliations of the quality gate: per reconciliation, month and company, the side
-- computed from the subledger documents, the general ledger's side, the named items that
-- reconcile them and the difference, which must be 0.00 to the cent
-- (expectations/suites/fct_ledger_reconciliations.json fails the run otherwise):
--   revenue            invoices and credit notes (fct_invoice_lines) = GL revenue accounts
--                      (4000, 4100; seed reconciliation_accounts); GL lines of a quarantined
--                      document are a named item (the document is out of the subledger).
--   cogs_at_standard   the inventory issues to sales at standard (fct_inventory_snapshots, from
--                      inventory_movements) = GL 5000; the P&L variances (5100, 5200, 5300) are
--                      shown beside, not reconciled.
--   operating_cash_flow  what net_operating_cash_flow counts (cash lines whose entry's
--                      counter-postings are operating) = the movement of the cash accounts less
--                      the movement of every other cash_flow_category, one named item each (a
--                      new category shows up as a new item). The published metric values are
--                      held to this computed side by the same suite.
-- Operating expense has no reconciliation: it is read from the GL itself, and the sample has no
-- independent documents for it (no payroll or expense-invoice extract; README).
-- Amounts are positive in the check's natural direction: revenue as credited, COGS as debited,
-- cash as received. difference = computed - (ledger - reconciling items).

with

accounts as (

    select * from {{ ref('reconciliation_accounts') }}

),

gl_lines as (

    select
        gl.company_code,
        gl.account_id,
        gl.account_name,
        gl.account_group,
        gl.cash_flow_category,
        gl.document_id,
        gl.amount_reporting,
        {{ month_start('gl.posting_date') }} as period_start
    from {{ ref('fct_gl_entries') }} as gl

),

quarantined_documents as (

    select distinct record_key as document_id
    from {{ ref('rule_violations') }}
    where quarantined

),

-- revenue --------------------------------------------------------------------------------------

revenue_documents as (

    select
        company_code,
        {{ month_start('revenue_date') }} as period_start,
        sum(net_amount_reporting) as amount
    from {{ ref('fct_invoice_lines') }}
    group by 1, 2

),

revenue_ledger as (

    select
        gl_lines.company_code,
        gl_lines.period_start,
        -sum(gl_lines.amount_reporting) as amount,
        -sum(case
            when quarantined_documents.document_id is not null then gl_lines.amount_reporting else 0
        end) as quarantined_amount
    from gl_lines
    inner join accounts
        on gl_lines.account_id = accounts.account_id
        and accounts.reconciliation = 'revenue'
        and accounts.role = 'ledger'
    left join quarantined_documents
        on gl_lines.document_id = quarantined_documents.document_id
    group by 1, 2

),

revenue as (

    select
        'revenue' as reconciliation,
        coalesce(revenue_documents.company_code, revenue_ledger.company_code) as company_code,
        coalesce(revenue_documents.period_start, revenue_ledger.period_start) as period_start,
        'invoices and credit notes (fct_invoice_lines.net_amount_reporting)' as computed_from,
        coalesce(revenue_documents.amount, 0) as computed_amount,
        coalesce(revenue_ledger.amount, 0) as ledger_amount,
        coalesce(revenue_ledger.quarantined_amount, 0) as reconciling_amount,
        case
            when revenue_ledger.quarantined_amount <> 0
                then 'quarantined documents '
                    || cast(revenue_ledger.quarantined_amount as {{ dbt.type_string() }})
            else ''
        end as reconciling_items
    from revenue_documents
    full outer join revenue_ledger
        on revenue_documents.company_code = revenue_ledger.company_code
        and revenue_documents.period_start = revenue_ledger.period_start

),

-- COGS at standard -----------------------------------------------------------------------------

issues as (

    select
        company_code,
        snapshot_month as period_start,
        -sum(sales_issue_value_reporting) as amount
    from {{ ref('fct_inventory_snapshots') }}
    group by 1, 2

),

cogs_ledger as (

    select
        gl_lines.company_code,
        gl_lines.period_start,
        sum(gl_lines.amount_reporting) as amount
    from gl_lines
    inner join accounts
        on gl_lines.account_id = accounts.account_id
        and accounts.reconciliation = 'cogs_at_standard'
        and accounts.role = 'ledger'
    group by 1, 2

),

cogs as (

    select
        'cogs_at_standard' as reconciliation,
        coalesce(issues.company_code, cogs_ledger.company_code) as company_code,
        coalesce(issues.period_start, cogs_ledger.period_start) as period_start,
        'inventory issues to sales at standard (inventory_movements)' as computed_from,
        coalesce(issues.amount, 0) as computed_amount,
        coalesce(cogs_ledger.amount, 0) as ledger_amount,
        cast(0 as decimal(18, 2)) as reconciling_amount,
        '' as reconciling_items
    from issues
    full outer join cogs_ledger
        on issues.company_code = cogs_ledger.company_code
        and issues.period_start = cogs_ledger.period_start

),

-- operating cash flow --------------------------------------------------------------------------

cash_by_category as (

    select
        company_code,
        period_start,
        -- an entry with no line outside the cash accounts (a transfer between banks) has none
        coalesce(cash_flow_category, 'between cash accounts') as category,
        sum(amount_reporting) as amount
    from gl_lines
    where account_group = 'cash'
    group by 1, 2, 3

),

operating_cash_flow as (

    select
        'operating_cash_flow' as reconciliation,
        company_code,
        period_start,
        'cash lines of entries whose counter-postings are operating (net_operating_cash_flow)'
            as computed_from,
        sum(case when category = 'operating' then amount else 0 end) as computed_amount,
        sum(amount) as ledger_amount,
        sum(case when category <> 'operating' then amount else 0 end) as reconciling_amount,
        coalesce({{ dbt.listagg(
            "case when category <> 'operating' then category || ' ' || cast(amount as "
            ~ dbt.type_string() ~ ") end",
            "'; '",
            'order by category'
        ) }}, '') as reconciling_items
    from cash_by_category
    group by 1, 2, 3

),

-- the accounts of each side, and what is shown beside ------------------------------------------

ledger_accounts as (

    select
        reconciliation,
        {{ dbt.listagg('account_id', "', '", 'order by account_id') }} as ledger_accounts
    from accounts
    where role = 'ledger'
    group by 1

    union all

    select
        'operating_cash_flow' as reconciliation,
        {{ dbt.listagg('account_id', "', '", 'order by account_id') }} as ledger_accounts
    from (select distinct account_id from gl_lines where account_group = 'cash') as cash_accounts

),

beside as (

    select
        accounts.reconciliation,
        gl_lines.company_code,
        gl_lines.period_start,
        {{ dbt.listagg(
            "gl_lines.account_id || ' ' || gl_lines.account_name || ' ' || cast(gl_lines.amount as "
            ~ dbt.type_string() ~ ")",
            "'; '",
            'order by gl_lines.account_id'
        ) }} as shown_beside
    from (
        select company_code, period_start, account_id, account_name, sum(amount_reporting) as amount
        from gl_lines
        group by 1, 2, 3, 4
    ) as gl_lines
    inner join accounts
        on gl_lines.account_id = accounts.account_id
        and accounts.role = 'beside'
    group by 1, 2, 3

),

checks as (

    select * from revenue
    union all
    select * from cogs
    union all
    select * from operating_cash_flow

),

final as (

    select
        -- ids
        checks.reconciliation,
        checks.company_code,
        checks.period_start,
        -- attributes
        checks.computed_from,
        ledger_accounts.ledger_accounts,
        checks.reconciling_items,
        coalesce(beside.shown_beside, '') as shown_beside,
        -- amounts
        cast(checks.computed_amount as decimal(18, 2)) as computed_amount,
        cast(checks.ledger_amount as decimal(18, 2)) as ledger_amount,
        cast(checks.reconciling_amount as decimal(18, 2)) as reconciling_amount,
        cast(
            checks.computed_amount - (checks.ledger_amount - checks.reconciling_amount)
            as decimal(18, 2)
        ) as difference
    from checks
    left join ledger_accounts
        on checks.reconciliation = ledger_accounts.reconciliation
    left join beside
        on checks.reconciliation = beside.reconciliation
        and checks.company_code = beside.company_code
        and checks.period_start = beside.period_start

)

select * from final
