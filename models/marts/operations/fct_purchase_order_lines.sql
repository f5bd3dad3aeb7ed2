-- Purchase order lines with the header and the net amount in the reporting currency at the
-- order-date rate. Cancelled and rejected orders stay, flagged; purchase volume excludes them.
--
-- Supplier punctuality per line, as fct_deliveries has it for customer lines: a line received by
-- as_of_date is on time when its (last) goods receipt is on or before the promised date; a line
-- not received whose promised date is past is late; one not yet due is pending (is_on_time null),
-- and so is every line of a cancelled or rejected order (never due).

with

lines as (

    select * from {{ ref('stg_erp__purchase_order_lines') }}

),

orders as (

    select * from {{ ref('stg_erp__purchase_orders') }}

),

-- receipts up to as_of_date, one row per line: a line is received with its last receipt
receipts as (

    select
        po_id,
        po_line_number,
        max(receipt_date) as receipt_date
    from {{ ref('stg_erp__goods_receipts') }}
    where receipt_date <= {{ as_of_date() }}
    group by po_id, po_line_number

),

final as (

    select
        -- ids
        lines.po_id || '-' || cast(lines.line_number as {{ dbt.type_string() }}) as po_line_key,
        lines.po_id,
        lines.line_number,
        lines.product_id,
        orders.supplier_id,
        orders.company_code,
        orders.source_system,
        -- attributes
        orders.status as po_status,
        orders.status in ('cancelled', 'rejected') as is_cancelled_or_rejected,
        orders.currency,
        -- amounts
        lines.quantity,
        lines.unit_price,
        lines.net_amount,
        {{ to_reporting('lines.net_amount', 'orders.currency', 'rate.rate') }}
            as net_amount_reporting,
        -- dates
        orders.order_date,
        lines.promised_date,
        -- supplier punctuality
        receipts.receipt_date,
        case
            when orders.status in ('cancelled', 'rejected') then 'cancelled'
            when receipts.receipt_date is not null then 'received'
            when lines.promised_date < {{ as_of_date() }} then 'overdue'
            else 'pending'
        end as receipt_status,
        case
            when orders.status in ('cancelled', 'rejected') then null
            when receipts.receipt_date is not null
                then receipts.receipt_date <= lines.promised_date
            when lines.promised_date < {{ as_of_date() }} then false
        end as is_on_time,
        -- lineage
        lines._source_file,
        lines._source_row

    from lines
    inner join orders
        on lines.po_id = orders.po_id
    left join receipts
        on lines.po_id = receipts.po_id
        and lines.line_number = receipts.po_line_number
    {{ join_rate('rate', 'orders.currency', 'orders.order_date') }}

),

-- the SAP source (models/intermediate/sap/): accepted items of accepted orders, each item in its
-- own currency converted at the order-date rate through SAP's tables
sap_lines as (

    select
        -- ids
        items.po_id || '-' || cast(items.line_number as {{ dbt.type_string() }}) as po_line_key,
        items.po_id,
        items.line_number,
        items.product_id,
        orders.supplier_id,
        orders.company_code,
        orders.source_system,
        -- attributes
        orders.po_status,
        orders.po_status in ('cancelled', 'rejected') as is_cancelled_or_rejected,
        items.currency,
        -- amounts
        items.quantity,
        cast(items.net_amount / nullif(items.quantity, 0) as decimal(18, 4)) as unit_price,
        items.net_amount,
        items.net_amount_reporting,
        -- dates
        orders.order_date,
        items.promised_date,
        -- supplier punctuality: the SAP extract has no goods receipts (README, SAP source)
        cast(null as date) as receipt_date,
        cast(null as {{ dbt.type_string() }}) as receipt_status,
        cast(null as boolean) as is_on_time,
        -- lineage
        items._source_file,
        items._source_row

    from ({{ accepted('int_sap_purchase_order_items_validated') }}) as items
    inner join ({{ accepted('int_sap_purchase_orders_validated') }}) as orders
        on items.po_id = orders.po_id

)

select * from final
union all
select * from sap_lines
