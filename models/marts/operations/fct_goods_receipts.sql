-- Goods receipts with supplier punctuality and the purchase price variance: what was paid for the
-- received quantity (PO price at the receipt-date rate, rounded the way the supplier invoice is)
-- against its value at the standard cost valid on the receipt date.

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
        standard_cost.standard_cost_eur
    from receipts
    left join po_lines
        on receipts.po_id = po_lines.po_id
        and receipts.po_line_number = po_lines.line_number
    left join orders
        on receipts.po_id = orders.po_id
    {{ join_rate('rate', 'orders.currency', 'receipts.receipt_date') }}
    {{ join_standard_cost('standard_cost', 'receipts.product_id', 'receipts.receipt_date') }}

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
        {{ to_reporting('received_amount', 'currency', 'rate_to_reporting') }}
            as received_amount_reporting,
        cast(round(quantity * standard_cost_eur, 2) as decimal(18, 2)) as standard_value_reporting,
        cast(
            {{ to_reporting('received_amount', 'currency', 'rate_to_reporting') }}
            - round(quantity * standard_cost_eur, 2)
            as decimal(18, 2)
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

    from priced

)

select * from final
