-- The ledger reconciliations of the quality gate: per reconciliation, month and company, the side
-- computed from the subledger documents, the general ledger's side, the named items that
-- reconcile them and the difference, which must be 0.00 to the cent
-- (expectations/suites/fct_ledger_reconciliations.json fails the run otherwise):
--   revenue              invoices and credit notes (fct_invoice_lines) = GL 4000 + 4100
--   cogs_at_standard     inventory issues to sales at standard (fct_inventory_snapshots, from
--                        inventory_movements) = GL 5000; the P&L variances 5100, 5200, 5300 are
--                        shown beside, not reconciled
--   bad_debt             write-offs (fct_ar_snapshots) = GL 6600, the one operating expense with
--                        documents of its own in the sample (README)
--   purchase_price_variance  goods receipts against standard cost (fct_goods_receipts) = GL 5100
--   operating_cash_flow  what net_operating_cash_flow counts (cash lines whose entry's
--                        counter-postings are operating) = the movement of the cash accounts less
--                        the movement of every other cash_flow_category, one named item each (a new
--                        category shows up as a new item); the metric_values suite holds the
--                        published metric to this computed side
-- The accounts are the seed reconciliation_accounts'. GL lines of a quarantined document (out of
-- the subledger, kept in the GL) are a named item. Amounts are in the accounts' natural direction
-- (credit for revenue accounts, debit otherwise; cash as received). A row is a month and company
-- where either side has an amount. difference = computed - (ledger - reconciling items).

with

accounts as (

    select * from {{ ref('reconciliation_accounts') }}

),

gl_lines as (

    select
        company_code,
        account_id,
        account_name,
        account_group,
        cash_flow_category,
        document_id,
        -- the natural direction: credit for revenue accounts, debit for the others
        case when account_type = 'revenue' then -amount_reporting else amount_reporting end
            as natural_amount,
        {{ month_start('posting_date') }} as period_start
    from {{ ref('fct_gl_entries') }}

),

quarantined_documents as (

    select distinct record_key as document_id
    from {{ ref('rule_violations') }}
    where quarantined

),

-- the computed sides, from the documents ---------------------------------------------------------

computed as (

    select
        'revenue' as reconciliation,
        company_code,
        {{ month_start('revenue_date') }} as period_start,
        sum(net_amount_reporting) as amount
    from {{ ref('fct_invoice_lines') }}
    group by 1, 2, 3

    union all

    select
        'cogs_at_standard' as reconciliation,
        company_code,
        snapshot_month as period_start,
        -sum(sales_issue_value_reporting) as amount
    from {{ ref('fct_inventory_snapshots') }}
    group by 1, 2, 3

    union all

    select
        'bad_debt' as reconciliation,
        company_code,
        snapshot_month as period_start,
        sum(written_off_amount_reporting) as amount
    from {{ ref('fct_ar_snapshots') }}
    group by 1, 2, 3

    union all

    select
        'purchase_price_variance' as reconciliation,
        company_code,
        {{ month_start('receipt_date') }} as period_start,
        sum(purchase_price_variance_reporting) as amount
    from {{ ref('fct_goods_receipts') }}
    group by 1, 2, 3

    union all

    select
        'operating_cash_flow' as reconciliation,
        company_code,
        period_start,
        sum(natural_amount) as amount
    from gl_lines
    where account_group = 'cash' and cash_flow_category = 'operating'
    group by 1, 2, 3

),

-- the ledger sides, and the items between ------------------------------------------------------

ledger_lines as (

    select
        accounts.reconciliation,
        gl_lines.*
    from gl_lines
    inner join accounts
        on gl_lines.account_id = accounts.account_id
        and accounts.role = 'ledger'

    union all

    select
        'operating_cash_flow' as reconciliation,
        gl_lines.*
    from gl_lines
    where gl_lines.account_group = 'cash'

),

ledger as (

    select
        reconciliation,
        company_code,
        period_start,
        sum(natural_amount) as amount
    from ledger_lines
    group by 1, 2, 3

),

items as (

    -- GL lines of a quarantined document: the document is out of the subledger
    select
        ledger_lines.reconciliation,
        ledger_lines.company_code,
        ledger_lines.period_start,
        'quarantined documents' as item,
        sum(ledger_lines.natural_amount) as amount
    from ledger_lines
    inner join quarantined_documents
        on ledger_lines.document_id = quarantined_documents.document_id
    where ledger_lines.reconciliation <> 'operating_cash_flow'
    group by 1, 2, 3, 4

    union all

    -- the cash movement of every category but operating (an entry with no line outside the cash
    -- accounts, a transfer between banks, has none)
    select
        'operating_cash_flow' as reconciliation,
        company_code,
        period_start,
        coalesce(cash_flow_category, 'between cash accounts') as item,
        sum(natural_amount) as amount
    from gl_lines
    where account_group = 'cash' and coalesce(cash_flow_category, '') <> 'operating'
    group by 1, 2, 3, 4

),

reconciling as (

    select
        reconciliation,
        company_code,
        period_start,
        sum(amount) as amount,
        {{ dbt.listagg(
            "item || ' ' || cast(amount as " ~ dbt.type_string() ~ ")", "'; '", 'order by item'
        ) }} as named_items
    from items
    group by 1, 2, 3

),

-- what each row names: the ledger accounts, and the accounts shown beside ----------------------

ledger_accounts as (

    select
        reconciliation,
        {{ dbt.listagg('account_id', "', '", 'order by account_id') }} as ledger_accounts
    from (select distinct reconciliation, account_id from ledger_lines) as reconciled_accounts
    group by 1

),

beside as (

    select
        accounts.reconciliation,
        monthly.company_code,
        monthly.period_start,
        {{ dbt.listagg(
            "monthly.account_id || ' ' || monthly.account_name || ' ' || cast(monthly.amount as "
            ~ dbt.type_string() ~ ")",
            "'; '",
            'order by monthly.account_id'
        ) }} as shown_beside
    from (
        select company_code, period_start, account_id, account_name, sum(natural_amount) as amount
        from gl_lines
        group by 1, 2, 3, 4
    ) as monthly
    inner join accounts
        on monthly.account_id = accounts.account_id
        and accounts.role = 'beside'
    group by 1, 2, 3

),

companies as (

    select * from {{ ref('dim_companies') }}

),

periods as (

    select reconciliation, company_code, period_start from computed
    union
    select reconciliation, company_code, period_start from ledger

),

final as (

    select
        -- ids
        periods.reconciliation,
        periods.company_code,
        companies.source_system,  -- the company's ledger
        periods.period_start,
        -- attributes
        ledger_accounts.ledger_accounts,
        coalesce(reconciling.named_items, '') as reconciling_items,
        coalesce(beside.shown_beside, '') as shown_beside,
        -- amounts
        cast(coalesce(computed.amount, 0) as decimal(18, 2)) as computed_amount,
        cast(coalesce(ledger.amount, 0) as decimal(18, 2)) as ledger_amount,
        cast(coalesce(reconciling.amount, 0) as decimal(18, 2)) as reconciling_amount,
        cast(
            coalesce(computed.amount, 0)
            - (coalesce(ledger.amount, 0) - coalesce(reconciling.amount, 0))
            as decimal(18, 2)
        ) as difference
    from periods
    left join computed
        on periods.reconciliation = computed.reconciliation
        and periods.company_code = computed.company_code
        and periods.period_start = computed.period_start
    left join ledger
        on periods.reconciliation = ledger.reconciliation
        and periods.company_code = ledger.company_code
        and periods.period_start = ledger.period_start
    left join reconciling
        on periods.reconciliation = reconciling.reconciliation
        and periods.company_code = reconciling.company_code
        and periods.period_start = reconciling.period_start
    left join companies
        on periods.company_code = companies.company_code
    left join ledger_accounts
        on periods.reconciliation = ledger_accounts.reconciliation
    left join beside
        on periods.reconciliation = beside.reconciliation
        and periods.company_code = beside.company_code
        and periods.period_start = beside.period_start

)

select * from final
