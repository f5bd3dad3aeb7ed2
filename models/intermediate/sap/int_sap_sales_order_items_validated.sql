-- SAP sales order items with every rule they break: their own (int_sap_sales_order_items_converted)
-- and sap_order_quarantined when their order leaves the flow (the document leaves as a whole).

with

items as (

    select * from {{ ref('int_sap_sales_order_items_converted') }}

),

orders as (

    select
        order_id,
        _quarantined
    from {{ ref('int_sap_sales_orders_validated') }}

),

checked as (

    select
        {{ star_except(['_rule_failures'], 'items') }},
        {{ list_concat('items._rule_failures', rule_failures([
            rule('sap_order_quarantined', 'coalesce(orders._quarantined, false)'),
        ])) }} as _rule_failures
    from items
    left join orders
        on items.order_id = orders.order_id

)

select
    *,
    {{ is_quarantined('_rule_failures') }} as _quarantined
from checked
