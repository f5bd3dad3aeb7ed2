-- Goods receipts with supplier punctuality and the purchase price variance: what was paid for the
-- received quantity (PO price at the receipt-date rate) against its value at the standard cost
-- valid on the receipt date.
--
-- Rounded the way the source's ledger posts (its registry entry's reporting_rounding), as
-- int_invoice_lines_converted: per document, the receipt's supplier invoice is converted as
-- round(gross x rate) - round(tax x rate), what the ledger posts against inventory and 5100
-- Purchase price variance; each line is converted by itself and the receipt's last line takes the
-- rounding difference, so the variance equals GL 5100 to the cent (fct_ledger_reconciliations).
-- A receipt without a supplier invoice yet, or per line: every line converted by itself.

with

receipts as (

    select * from {{ ref('stg_erp__goods_receipts') }}

),

po_lines as (

    select * from {{ ref('stg_erp__purchase_order_lines') }}

),

orders as (

    select * from {{ ref('stg_erp__purchase_orders') }}

),

supplier_invoices as (

    select * from {{ ref('stg_erp__supplier_invoices') }}

),

priced as (

    select
        receipts.*,
        orders.supplier_id,
        orders.company_code,
        orders.currency,
        po_lines.unit_price,
        cast(round(receipts.quantity * po_lines.unit_price, 2) as decimal(18, 2))
            as received_amount,
        rate.rate as rate_to_reporting,
        standard_cost.standard_cost_eur,
        {{ to_reporting('supplier_invoices.gross_amount', 'orders.currency', 'rate.rate') }}
        - {{ to_reporting('supplier_invoices.tax_amount', 'orders.currency', 'rate.rate') }}
            as invoiced_net_reporting,
        {{ rounds_per_document('receipts.source_system') }}
        and supplier_invoices.receipt_id is not null as rounds_per_document,
        row_number() over (
            partition by receipts.receipt_id order by receipts.po_line_number desc
        ) = 1 as is_last_line
    from receipts
    left join po_lines
        on receipts.po_id = po_lines.po_id
        and receipts.po_line_number = po_lines.line_number
    left join orders
        on receipts.po_id = orders.po_id
    left join supplier_invoices
        on receipts.receipt_id = supplier_invoices.receipt_id
    {{ join_rate('rate', 'orders.currency', 'receipts.receipt_date') }}
    {{ join_standard_cost('standard_cost', 'receipts.product_id', 'receipts.receipt_date') }}

),

converted as (

    select
        *,
        {{ to_reporting('received_amount', 'currency', 'rate_to_reporting') }}
            as line_received_reporting
    from priced

),

rounded as (

    select
        *,
        case
            when rounds_per_document
                then {{ allocate_remainder(
                    'invoiced_net_reporting', 'line_received_reporting', 'receipt_id'
                ) }}
            else line_received_reporting
        end as received_amount_reporting
    from converted

),

final as (

    select
        -- ids
        receipt_id || '-' || cast(po_line_number as {{ dbt.type_string() }}) as receipt_line_key,
        receipt_id,
        po_id,
        po_line_number,
        product_id,
        supplier_id,
        company_code,
        source_system,
        -- attributes
        receipt_date <= promised_date as is_on_time,
        currency,
        -- amounts
        quantity,
        unit_price,
        received_amount,
        cast(received_amount_reporting as decimal(18, 2)) as received_amount_reporting,
        cast(round(quantity * standard_cost_eur, 2) as decimal(18, 2)) as standard_value_reporting,
        cast(
            received_amount_reporting - round(quantity * standard_cost_eur, 2) as decimal(18, 2)
        ) as purchase_price_variance_reporting,
        -- dates
        promised_date,
        receipt_date,
        cast(
            {{ dbt.datediff(
                'promised_date', 'receipt_date', 'day'
            ) }} as integer
        ) as days_late,
        -- lineage
        _source_file,
        _source_row

    from rounded

)

select * from final
