-- Every invoice with the quality rules it breaks (expectations/rules.yml): the row-level ones from
-- staging, and here the ones that need a join or an aggregate. An invoice leaves the flow as a
-- whole document: when one of its lines is quarantined, the header no longer equals its accepted
-- lines. Downstream models read `accepted('int_invoices_validated')`.
--
-- Incremental by invoice date (README, "Incremental runs"): an invoice's rules read its own
-- lines and the rate of its day, so an incremental run checks the window's invoices only, and
-- every invoice without a date (their violations stay in quarantine.rule_violations).

{{ incremental_by_date('invoice_date', recompute_also='invoice_date is null') }}

with

invoices as (

    select * from {{ ref('stg_erp__invoices') }}
    {{ incremental_window_filter(config.get('incremental_date_column')) }}

),

line_totals as (

    select
        invoice_id,
        sum(net_amount) filter (where not {{ is_quarantined('_rule_failures') }}) as net_amount,
        sum(tax_amount) filter (where not {{ is_quarantined('_rule_failures') }}) as tax_amount,
        bool_or({{ is_quarantined('_rule_failures') }}) as has_quarantined_line
    from {{ ref('stg_erp__invoice_lines') }}
    {%- if is_incremental() %}
    where invoice_id in (select invoices.invoice_id from invoices)
    {%- endif %}
    group by invoice_id

),

checked as (

    select
        {{ star_except(['_rule_failures'], 'invoices') }},
        {{ list_concat('invoices._rule_failures', rule_failures([
            rule('header_vs_lines',
                'coalesce(line_totals.has_quarantined_line, false)'
                ~ ' or invoices.net_amount <> coalesce(line_totals.net_amount, 0)'
                ~ ' or invoices.tax_amount <> coalesce(line_totals.tax_amount, 0)'
                ~ ' or invoices.gross_amount <> coalesce(line_totals.net_amount, 0)'
                ~ ' + coalesce(line_totals.tax_amount, 0)'),
            rule('missing_exchange_rate',
                "invoices.currency <> '" ~ var('reporting_currency') ~ "' and rate.rate is null"),
        ])) }} as _rule_failures
    from invoices
    left join line_totals
        on invoices.invoice_id = line_totals.invoice_id
    {{ join_rate('rate', 'invoices.currency', 'invoices.invoice_date') }}

)

select
    *,
    {{ is_quarantined('_rule_failures') }} as _quarantined
from checked
