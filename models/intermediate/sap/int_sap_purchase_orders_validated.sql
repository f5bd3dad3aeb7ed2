-- Every SAP purchase order with its status codes decoded through constants.csv, the canonical
-- status, and the quality rules that need a join (supplier, company start, header vs items).
-- An order leaves the flow as a whole document when one of its items is quarantined.

with

orders as (

    select * from {{ ref('stg_sap__purchase_orders') }}

),

items as (

    select
        po_id,
        sum(net_amount_stored) as net_amount_stored,
        bool_or({{ is_quarantined('_rule_failures') }}) as has_quarantined_item
    from {{ ref('int_sap_purchase_order_items_converted') }}
    group by po_id

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
        approval.meaning as approval_status,
        confirmation.meaning as confirmation_status,
        -- the canonical status of fct_purchase_order_lines (the sample's vocabulary)
        case
            when orders.lifecycle_status_code = 'X' then 'cancelled'
            when orders.lifecycle_status_code = 'R' or orders.approval_status_code = 'R'
                then 'rejected'
            when orders.ordering_status_code = 'D' then 'received'
            else 'open'
        end as po_status,
        partners.partner_id is not null as has_partner,
        coalesce(partners.is_supplier, false) as is_supplier_partner,
        items.net_amount_stored as items_net_amount_stored,
        coalesce(items.has_quarantined_item, false) as has_quarantined_item
    from orders
    cross join company
    left join items
        on orders.po_id = items.po_id
    left join partners
        on orders.supplier_id = partners.partner_id
    {{ sap_join_constant('lifecycle', 'D_PO_LC', 'orders.lifecycle_status_code') }}
    {{ sap_join_constant('approval', 'D_PO_AP', 'orders.approval_status_code') }}
    {{ sap_join_constant('confirmation', 'D_PO_CF', 'orders.confirmation_status_code') }}

),

checked as (

    select
        {{ star_except(['_staging_failures'], 'decoded') }},
        {{ list_concat('decoded._staging_failures', rule_failures([
            rule('sap_before_company_start', 'decoded.order_date < decoded.business_start_date'),
            rule('sap_unknown_partner', 'not decoded.has_partner'),
            rule('sap_partner_role_mismatch', 'decoded.has_partner and not decoded.is_supplier_partner'),
            rule('sap_unknown_status_code',
                'decoded.lifecycle_status is null or decoded.approval_status is null'
                ~ ' or decoded.confirmation_status is null'),
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
