-- General-ledger journal lines with their account and department. Every line of an entry that
-- posts to a cash account carries the entry's cash-flow category (`cash_flow_category_of_entry`),
-- named by its counter-postings (its lines on other accounts): operating, investing, financing,
-- mixed, or fx_revaluation where the only counter-postings are exchange differences (the month-end
-- revaluation of a foreign-currency bank account moves no cash). Cash lines also carry it as
-- `cash_flow_category`. An entry balances, so the cash it moves is minus the sum of its
-- counter-postings: net operating cash flow is measured on the counter-postings, each attributed to
-- a department (`cash_department`): its own cost center's (a payroll payment to the department of
-- the salaries it pays), or for a receivable or payable a payment settles, the department of the
-- invoice settled (its lines with a cost center, when they are all in one department: a customer
-- invoice's revenue line, a supplier invoice's price-variance line). Nothing else: none.
--
-- Every journal line stays here, also those of a quarantined document (an invoice, or a payment,
-- credit note or write-off of one; quarantine.rule_violations). The ledger is the book of record:
-- its entries balance, and a quarantined invoice's payment really reached the bank. Dropping its
-- lines would make the ledger disagree with the ERP's trial balance and with cash. Instead, the
-- receivables reconciliation (expectations/suites/fct_ar_snapshots.json) leaves exactly those
-- documents' lines out of the GL side, so any other difference still fails it.

{{ incremental_by_date('posting_date') }}

{%- set fx_difference_accounts = "'" ~ var('fx_difference_accounts') | join("', '") ~ "'" %}

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

settled_invoices as (

    -- the invoice each payment document settles (one per payment; an ambiguous one: none)
    select
        payment_id as document_id,
        min(invoice_id) as invoice_document_id
    from {{ ref('stg_erp__customer_payments') }}
    group by payment_id
    having count(distinct invoice_id) = 1

    union all

    select
        payment_id as document_id,
        min(supplier_invoice_id) as invoice_document_id
    from {{ ref('stg_erp__supplier_payments') }}
    group by payment_id
    having count(distinct supplier_invoice_id) = 1

),

document_departments as (

    -- the department of a document's lines with a cost center, where they are all in one
    select
        entries.document_id,
        min(cost_centers.department) as department
    from entries
    inner join cost_centers
        on entries.cost_center_id = cost_centers.cost_center_id
    group by entries.document_id
    having count(distinct cost_centers.department) = 1

),

entry_cash_flows as (

    -- one row per entry that posts to a cash account: what its counter-postings are
    select
        entries.entry_id,
        case
            when
                min(case
                    when accounts.account_group = 'cash' then 1
                    when entries.account_id in ({{ fx_difference_accounts }}) then 1
                    else 0
                end) = 1
                then 'fx_revaluation'
            when count(distinct case
                when accounts.account_group <> 'cash' then accounts.cash_flow_category
            end) = 1
                then min(case
                    when accounts.account_group <> 'cash' then accounts.cash_flow_category
                end)
            else 'mixed'
        end as cash_flow_category
    from entries
    inner join accounts
        on entries.account_id = accounts.account_id
    group by entries.entry_id
    having
        max(case when accounts.account_group = 'cash' then 1 else 0 end) = 1
        and max(case when accounts.account_group <> 'cash' then 1 else 0 end) = 1

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
            when accounts.account_group = 'cash' then entry_cash_flows.cash_flow_category
        end as cash_flow_category,
        entry_cash_flows.cash_flow_category as cash_flow_category_of_entry,
        case
            when accounts.account_group = 'cash' or entry_cash_flows.entry_id is null then null
            when cost_centers.department is not null then cost_centers.department
            when accounts.is_control_account then settled_departments.department
        end as cash_department,
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
    left join entry_cash_flows
        on entries.entry_id = entry_cash_flows.entry_id
    left join settled_invoices
        on entries.document_id = settled_invoices.document_id
    left join document_departments as settled_departments
        on settled_invoices.invoice_document_id = settled_departments.document_id

)

select * from final
{{ incremental_window_filter('posting_date') }}
