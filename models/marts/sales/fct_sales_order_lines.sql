-- Sales order lines as booked, with the order header and the net amount in the reporting
-- currency at the order-date rate. Cancelled orders stay (is_cancelled) so that booked and
-- cancelled volumes can both be reported; order intake excludes them.

{{ incremental_by_date('order_date') }}

with

lines as (

    select * from {{ ref('stg_erp__sales_order_lines') }}

),

orders as (

    select * from {{ ref('stg_erp__sales_orders') }}

),

final as (

    select
        -- ids
        lines.order_id || '-' || cast(lines.line_number as {{ dbt.type_string() }})
            as order_line_key,
        lines.order_id,
        lines.line_number,
        lines.product_id,
        orders.customer_id,
        orders.company_code,
        orders.source_system,
        -- attributes
        orders.status as order_status,
        orders.status = 'cancelled' as is_cancelled,
        orders.sales_channel,
        orders.currency,
        -- amounts
        lines.quantity,
        lines.unit_price,
        lines.discount_pct,
        lines.net_amount,
        {{ to_reporting('lines.net_amount', 'orders.currency', 'rate.rate') }}
            as net_amount_reporting,
        -- dates
        orders.order_date,
        lines.promised_date,
        -- lineage
        lines._source_file,
        lines._source_row

    from lines
    inner join orders
        on lines.order_id = orders.order_id
    {{ join_rate('rate', 'orders.currency', 'orders.order_date') }}

),

-- the SAP source (models/intermediate/sap/): accepted items of accepted orders, each item in its
-- own currency converted at the order-date rate through SAP's tables; SAP has no sales channel
-- and no line discount
sap_lines as (

    select
        -- ids
        items.order_id || '-' || cast(items.line_number as {{ dbt.type_string() }})
            as order_line_key,
        items.order_id,
        items.line_number,
        items.product_id,
        orders.customer_id,
        orders.company_code,
        orders.source_system,
        -- attributes
        orders.order_status,
        orders.order_status = 'cancelled' as is_cancelled,
        cast(null as {{ dbt.type_string() }}) as sales_channel,
        items.currency,
        -- amounts
        items.quantity,
        cast(items.net_amount / nullif(items.quantity, 0) as decimal(18, 4)) as unit_price,
        cast(null as decimal(9, 4)) as discount_pct,
        items.net_amount,
        items.net_amount_reporting,
        -- dates
        orders.order_date,
        items.promised_date,
        -- lineage
        items._source_file,
        items._source_row

    from ({{ accepted('int_sap_sales_order_items_validated') }}) as items
    inner join ({{ accepted('int_sap_sales_orders_validated') }}) as orders
        on items.order_id = orders.order_id

)

select * from (
    select * from final
    union all
    select * from sap_lines
) as both_erps
{{ incremental_window_filter('order_date') }}
