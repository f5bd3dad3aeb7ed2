-- Every SAP sales order with its status codes decoded through constants.csv (in English, var
-- sap_language), the canonical order status, and the quality rules (expectations/rules.yml) that
-- need a join: the customer, the company's first business day, the header against its items.
-- An order leaves the flow as a whole document when one of its items is quarantined.
-- Downstream models read `accepted('int_sap_sales_orders_validated')`.

with

orders as (

    select * from {{ ref('stg_sap__sales_orders') }}

),

items as (

    select
        order_id,
        sum(net_amount_stored) as net_amount_stored,
        bool_or({{ is_quarantined('_rule_failures') }}) as has_quarantined_item
    from {{ ref('int_sap_sales_order_items_converted') }}
    group by order_id

),

partners as (

    select * from {{ ref('int_sap_business_partners_decoded') }}

),

company as (

    select * from {{ ref('sap_company_codes') }}

),

decoded as (

    select
        {{ star_except(['_rule_failures'], 'orders') }},
        orders._rule_failures as _staging_failures,
        company.company_code,
        company.business_start_date,
        lifecycle.meaning as lifecycle_status,
        billing.meaning as billing_status,
        delivery.meaning as delivery_status,
        -- the canonical status of fct_sales_order_lines: open | delivered | cancelled
        case
            when orders.lifecycle_status_code = 'X' then 'cancelled'
            when orders.delivery_status_code = 'D' then 'delivered'
            else 'open'
        end as order_status,
        partners.partner_id is not null as has_partner,
        coalesce(partners.is_customer, false) as is_customer_partner,
        items.net_amount_stored as items_net_amount_stored,
        coalesce(items.has_quarantined_item, false) as has_quarantined_item
    from orders
    -- one SAP company (seed sap_company_codes) keeps the books of this extract
    cross join company
    left join items
        on orders.order_id = items.order_id
    left join partners
        on orders.customer_id = partners.partner_id
    {{ sap_join_constant('lifecycle', 'D_SO_LC', 'orders.lifecycle_status_code') }}
    {{ sap_join_constant('billing', 'D_SO_CF', 'orders.billing_status_code') }}
    {{ sap_join_constant('delivery', 'D_SO_OR', 'orders.delivery_status_code') }}

),

checked as (

    select
        {{ star_except(['_staging_failures'], 'decoded') }},
        {{ list_concat('decoded._staging_failures', rule_failures([
            rule('sap_before_company_start', 'decoded.order_date < decoded.business_start_date'),
            rule('sap_unknown_partner', 'not decoded.has_partner'),
            rule('sap_partner_role_mismatch', 'decoded.has_partner and not decoded.is_customer_partner'),
            rule('sap_unknown_status_code',
                'decoded.lifecycle_status is null or decoded.billing_status is null'
                ~ ' or decoded.delivery_status is null'),
            rule('sap_header_vs_items',
                'decoded.net_amount <> coalesce(decoded.items_net_amount_stored, 0)'),
            rule('sap_item_quarantined', 'decoded.has_quarantined_item'),
        ])) }} as _rule_failures
    from decoded

)

select
    *,
    {{ is_quarantined('_rule_failures') }} as _quarantined
from checked
