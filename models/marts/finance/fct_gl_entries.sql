-- General-ledger journal lines with their account and department. For lines on cash accounts,
-- `cash_flow_category` says what the entry's counter-postings are (operating, investing,
-- financing, or mixed), which is how net operating cash flow is defined.
--
-- Every journal line stays here, also those of a quarantined document (an invoice, or a payment,
-- credit note or write-off of one; quarantine.rule_violations). The ledger is the book of record:
-- its entries balance, and a quarantined invoice's payment really reached the bank. Dropping its
-- lines would make the ledger disagree with the ERP's trial balance and with cash. Instead, the
-- receivables reconciliation (expectations/suites/fct_ar_snapshots.json) leaves exactly those
-- documents' lines out of the GL side, so any other difference still fails it.

{{ incremental_by_date('posting_date') }}

with

entries as (

    select * from {{ ref('stg_erp__gl_journal_entries') }}

),

accounts as (

    select * from {{ ref('stg_erp__gl_accounts') }}

),

cost_centers as (

    select * from {{ ref('stg_erp__cost_centers') }}

),

counterparts as (

    select
        entries.entry_id,
        case
            when count(distinct accounts.cash_flow_category) = 1
                then any_value(accounts.cash_flow_category)
            else 'mixed'
        end as counterpart_cash_flow_category
    from entries
    inner join accounts
        on entries.account_id = accounts.account_id
    where accounts.account_group <> 'cash'
    group by entries.entry_id

),

final as (

    select
        -- ids
        entries.entry_id || '-' || cast(entries.line_number as {{ dbt.type_string() }})
            as gl_entry_line_key,
        entries.entry_id,
        entries.line_number,
        entries.document_id,
        entries.account_id,
        entries.cost_center_id,
        entries.company_code,
        entries.source_system,
        -- attributes
        entries.document_type,
        accounts.account_name,
        accounts.account_type,
        accounts.account_group,
        accounts.is_control_account,
        cost_centers.department,
        case
            when accounts.account_group = 'cash' then counterparts.counterpart_cash_flow_category
        end as cash_flow_category,
        entries.currency,
        -- amounts (debit positive)
        entries.amount,
        entries.amount_eur as amount_reporting,
        -- dates
        entries.posting_date,
        -- lineage
        entries._source_file,
        entries._source_row

    from entries
    left join accounts
        on entries.account_id = accounts.account_id
    left join cost_centers
        on entries.cost_center_id = cost_centers.cost_center_id
    left join counterparts
        on entries.entry_id = counterparts.entry_id

)

select * from final
{{ incremental_window_filter('posting_date') }}
