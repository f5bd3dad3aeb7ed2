-- SAP sales order items with their order's date, amounts shifted by their currency's decimals
-- (TCURX) and converted to the reporting currency at the order-date rate, and the item-level
-- quality rules (expectations/rules.yml). The order-level rules are in
-- int_sap_sales_orders_validated; int_sap_sales_order_items_validated combines the two.

with

items as (

    select * from {{ ref('stg_sap__sales_order_items') }}

),

orders as (

    select * from {{ ref('stg_sap__sales_orders') }}

),

products as (

    select * from {{ ref('stg_sap__products') }}

),

decimals as (

    select * from {{ ref('stg_sap__currency_decimals') }}

),

currencies as (

    select distinct currency
    from {{ ref('stg_sap__currencies') }}
    where client = '{{ var("sap_client") }}'

),

shifted as (

    select
        {{ star_except(['_rule_failures'], 'items') }},
        items._rule_failures as _staging_failures,
        orders.order_date,
        orders.currency as order_currency,
        orders.order_id is not null as has_order,
        products.product_id is not null as has_product,
        currencies.currency is not null as is_known_currency,
        {{ sap_external_amount('items.net_amount_stored', 'decimals.decimals') }} as net_amount,
        {{ sap_external_amount('items.gross_amount_stored', 'decimals.decimals') }} as gross_amount
    from items
    left join orders
        on items.order_id = orders.order_id
    left join products
        on items.product_id = products.product_id
    left join decimals
        on items.currency = decimals.currency
    left join currencies
        on items.currency = currencies.currency

),

converted as (

    select
        shifted.*,
        {{ sap_to_reporting('shifted.net_amount', 'shifted.currency', 'rate') }}
            as net_amount_reporting,
        rate.rate_type_used,
        rate.quoted_rate,
        rate.is_inverse_quotation
    from shifted
    {{ sap_join_rate('rate', 'shifted.currency', 'shifted.order_date') }}

)

select
    {{ star_except(['_staging_failures'], 'converted') }},
    {{ list_concat('converted._staging_failures', rule_failures([
        rule('sap_orphan_item', 'not converted.has_order'),
        rule('sap_unknown_product', 'not converted.has_product'),
        rule('sap_unknown_currency', 'not converted.is_known_currency'),
        rule('sap_missing_exchange_rate',
            'converted.has_order and converted.is_known_currency'
            ~ ' and converted.net_amount_reporting is null'),
        rule('sap_delivery_before_order', 'converted.promised_date < converted.order_date'),
        rule('sap_item_currency_differs', 'converted.currency <> converted.order_currency'),
    ])) }} as _rule_failures
from converted
