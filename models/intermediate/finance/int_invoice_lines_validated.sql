-- Every invoice line with the quality rules it breaks (expectations/rules.yml): the row-level
-- ones from staging, and here orphans, lines of a quarantined invoice and extreme outliers.
-- Downstream models read `accepted('int_invoice_lines_validated')`.

with

lines as (

    select * from {{ ref('stg_erp__invoice_lines') }}

),

invoices as (

    select
        invoice_id,
        currency,
        _quarantined
    from {{ ref('int_invoices_validated') }}

),

-- the typical price of a product in one currency (outliers are 20 times above it)
typical_prices as (

    select
        lines.product_id,
        invoices.currency,
        median(lines.unit_price) as median_unit_price
    from lines
    inner join invoices
        on lines.invoice_id = invoices.invoice_id
    group by lines.product_id, invoices.currency

),

checked as (

    select
        {{ star_except(['_rule_failures'], 'lines') }},
        {{ list_concat('lines._rule_failures', rule_failures([
            rule('orphan_invoice_line', 'invoices.invoice_id is null'),
            rule('invoice_quarantined', 'invoices._quarantined'),
            rule('extreme_outlier', 'lines.unit_price > 20 * typical_prices.median_unit_price'),
        ])) }} as _rule_failures
    from lines
    left join invoices
        on lines.invoice_id = invoices.invoice_id
    left join typical_prices
        on lines.product_id = typical_prices.product_id
        and invoices.currency = typical_prices.currency

)

select
    *,
    {{ is_quarantined('_rule_failures') }} as _quarantined
from checked
