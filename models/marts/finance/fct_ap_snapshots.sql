-- Month-end open payables per supplier invoice: opening and closing balance, the month's
-- invoiced and paid amounts and the aging by due date, in transaction and reporting currency
-- (at the supplier-invoice-date rate, what the payables control account carries).
--
-- Incremental (DuckDB): an incremental run rebuilds the months from its window's month on
-- (macros/incremental.sql, macros/balance_snapshots.sql).

{{ incremental_by_month('snapshot_month') }}

with

snapshots as (

    {{ monthly_balance_snapshots(
        ref('int_ap_movements_unioned'),
        'supplier_invoice_id',
        ['supplier_id', 'company_code', 'source_system', 'currency', 'invoice_date', 'due_date'],
        ['invoiced'],
        ['paid'],
    ) }}

),

final as (

    select
        -- ids
        supplier_invoice_id,
        supplier_id,
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
        cast(paid_amount as decimal(18, 2)) as paid_amount,
        cast(closing_amount as decimal(18, 2)) as closing_amount,
        -- amounts, reporting currency
        cast(opening_amount_reporting as decimal(18, 2)) as opening_amount_reporting,
        cast(invoiced_amount_reporting as decimal(18, 2)) as invoiced_amount_reporting,
        cast(paid_amount_reporting as decimal(18, 2)) as paid_amount_reporting,
        cast(closing_amount_reporting as decimal(18, 2)) as closing_amount_reporting,
        -- dates
        snapshot_month,
        snapshot_date,
        invoice_date,
        due_date

    from snapshots

)

select * from final
