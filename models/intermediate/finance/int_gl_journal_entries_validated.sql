-- Every general-ledger journal line with the quality rules its entry breaks
-- (expectations/rules.yml). unbalanced_journal_entry: the entry's lines of one company do not sum
-- to zero in the reporting currency, or, when they all share one transaction currency, in that
-- currency. An FX transfer (lines in two currencies) balances in the reporting currency only.
-- Every line of the entry is flagged, so the failure names each line's file and line; the rule's
-- severity is fail (quarantining part of an entry would unbalance the ledger further).

with

entries as (

    select * from {{ ref('stg_erp__gl_journal_entries') }}

),

entry_totals as (

    select
        entry_id,
        company_code,
        sum(amount_eur) as imbalance_reporting,
        case when count(distinct currency) = 1 then sum(amount) end as imbalance_transaction,
        min(currency) as transaction_currency
    from entries
    group by entry_id, company_code

),

entry_balances as (

    select
        *,
        imbalance_reporting <> 0 or coalesce(imbalance_transaction, 0) <> 0 as is_unbalanced
    from entry_totals

),

checked as (

    select
        entries.*,
        entry_balances.imbalance_reporting as entry_imbalance_reporting,
        entry_balances.imbalance_transaction as entry_imbalance_transaction,
        {{ rule_failures([
            rule('unbalanced_journal_entry', 'entry_balances.is_unbalanced'),
        ]) }} as _rule_failures,
        -- what the failure prints: the entry and by how much it is off
        case
            when entry_balances.is_unbalanced then
                'entry ' || entries.entry_id || ' of company '
                || coalesce(entries.company_code, '(none)') || ' is off by '
                || cast(entry_balances.imbalance_reporting as {{ dbt.type_string() }})
                || ' {{ var("reporting_currency") }}'
                || case
                    when entry_balances.imbalance_transaction is not null and (
                        entry_balances.transaction_currency <> '{{ var("reporting_currency") }}'
                        or entry_balances.imbalance_transaction
                        <> entry_balances.imbalance_reporting
                    )
                        then ' and '
                            || cast(entry_balances.imbalance_transaction as {{ dbt.type_string() }})
                            || ' ' || entry_balances.transaction_currency
                    else ''
                end
        end as _rule_detail
    from entries
    left join entry_balances
        on entries.entry_id = entry_balances.entry_id
        and coalesce(entries.company_code, '') = coalesce(entry_balances.company_code, '')

)

select
    *,
    {{ is_quarantined('_rule_failures') }} as _quarantined
from checked
