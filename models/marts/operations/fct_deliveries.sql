-- Delivery performance per sales order line due for delivery (every line of an order that was not
-- cancelled), whether delivered yet or not. A line still undelivered after its promised date is
-- late; one whose promised date is still ahead of as_of_date is pending (is_on_time is null).
--
-- Incremental (README, "Incremental runs"): a row is final once its line is delivered, so an
-- incremental run recomputes the rows ordered or delivered in the window and every line still
-- undelivered (its status moves with as_of_date, its delivery may come any day): a row is dated
-- by the later of its order and delivery date. On Spark it stays a table (insert_overwrite
-- replaces partitions of a column, and this window is no column's).

{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    incremental_strategy='date_window',
    incremental_date_column='greatest(order_date, actual_date)',
    incremental_recompute_also='actual_date is null',
    on_schema_change='fail'
) }}

with

order_lines as (

    select * from {{ ref('fct_sales_order_lines') }}
    where not is_cancelled
        -- sources that deliver delivery documents; the SAP extract has a delivery status per
        -- order but no delivery dates, so its lines have no on-time measure (README, SAP source)
        and source_system = 'erp'

),

deliveries as (

    select * from {{ ref('stg_erp__deliveries') }}

),

final as (

    select
        -- ids
        order_lines.order_line_key,
        order_lines.order_id,
        order_lines.line_number,
        deliveries.delivery_id,
        order_lines.product_id,
        order_lines.customer_id,
        order_lines.company_code,
        order_lines.source_system,
        -- attributes
        case
            when deliveries.actual_date is not null then 'delivered'
            when order_lines.promised_date < {{ as_of_date() }} then 'overdue'
            else 'pending'
        end as delivery_status,
        case
            when deliveries.actual_date is not null
                then deliveries.actual_date <= order_lines.promised_date
            when order_lines.promised_date < {{ as_of_date() }} then false
        end as is_on_time,
        case
            when deliveries.actual_date is not null
                then deliveries.quantity_shipped >= order_lines.quantity
            when order_lines.promised_date < {{ as_of_date() }} then false
        end as is_in_full,
        -- quantities
        order_lines.quantity as quantity_ordered,
        coalesce(deliveries.quantity_shipped, 0) as quantity_shipped,
        -- dates
        order_lines.order_date,
        order_lines.promised_date,
        deliveries.actual_date,
        cast(
            {{ dbt.datediff(
                'order_lines.promised_date', 'deliveries.actual_date', 'day'
            ) }} as integer
        )
            as days_late,
        -- lineage
        coalesce(deliveries._source_file, order_lines._source_file) as _source_file,
        coalesce(deliveries._source_row, order_lines._source_row) as _source_row

    from order_lines
    left join deliveries
        on order_lines.order_id = deliveries.order_id
        and order_lines.line_number = deliveries.order_line_number
        and deliveries.actual_date <= {{ as_of_date() }}

)

select * from final
{{ incremental_window_filter(config.get('incremental_date_column')) }}
