-- Sales order lines as booked, with the order header and the net amount in the reporting
-- currency at the order-date rate. Cancelled orders stay (is_cancelled) so that booked and
-- cancelled volumes can both be reported; order intake excludes them.

{{ config(
    materialized='incremental',
    incremental_strategy=('insert_overwrite' if target.type == 'spark' else 'date_window'),
    incremental_date_column='order_date',
    partition_by=(['order_date'] if target.type == 'spark' else none),
    on_schema_change='fail'
) }}

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
        lines.order_id || '-' || cast(lines.line_number as varchar) as order_line_key,
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

)

select * from final
{{ incremental_window_filter('order_date') }}
