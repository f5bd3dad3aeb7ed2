-- Month-end open receivables per customer invoice: opening and closing balance, the month's
-- movements (invoiced, collected, credited, written off) and the aging of the closing balance by
-- due date. In the transaction currency (where the roll-forward is exact) and in the reporting
-- currency at the invoice-date rate (what the receivables control account carries).
--
-- Incremental (DuckDB): an incremental run rebuilds the months from its window's month on
-- (macros/incremental.sql, macros/balance_snapshots.sql).

{{ incremental_by_month('snapshot_month') }}

with

snapshots as (

    {{ monthly_balance_snapshots(
        ref('int_ar_movements_unioned'),
        'invoice_id',
        ['customer_id', 'company_code', 'source_system', 'currency', 'invoice_date', 'due_date'],
        ['invoiced'],
        ['collected', 'credited', 'written_off'],
    ) }}

),

final as (

    select
        -- ids
        invoice_id,
        customer_id,
        company_code,
        source_system,
        -- attributes
        currency,
        {{ aging_bucket('closing_amount', 'snapshot_date', 'due_date') }} as aging_bucket,
        cast(greatest({{ dbt.datediff('due_date', 'snapshot_date', 'day') }}, 0) as integer)
            as days_past_due,
        -- amounts, transaction currency
        cast(opening_amount as decimal(18, 2)) as opening_amount,
        cast(invoiced_amount as decimal(18, 2)) as invoiced_amount,
        cast(collected_amount as decimal(18, 2)) as collected_amount,
        cast(credited_amount as decimal(18, 2)) as credited_amount,
        cast(written_off_amount as decimal(18, 2)) as written_off_amount,
        cast(closing_amount as decimal(18, 2)) as closing_amount,
        -- amounts, reporting currency
        cast(opening_amount_reporting as decimal(18, 2)) as opening_amount_reporting,
        cast(invoiced_amount_reporting as decimal(18, 2)) as invoiced_amount_reporting,
        cast(collected_amount_reporting as decimal(18, 2)) as collected_amount_reporting,
        cast(credited_amount_reporting as decimal(18, 2)) as credited_amount_reporting,
        cast(written_off_amount_reporting as decimal(18, 2)) as written_off_amount_reporting,
        cast(closing_amount_reporting as decimal(18, 2)) as closing_amount_reporting,
        -- dates
        snapshot_month,
        snapshot_date,
        invoice_date,
        due_date

    from snapshots

)

select * from final
