-- SAP purchase order items with their order's date, amounts shifted by their currency's decimals
-- (TCURX) and converted to the reporting currency at the order-date rate, and the item-level
-- quality rules (expectations/rules.yml). The order-level rules are in
-- int_sap_purchase_orders_validated; int_sap_purchase_order_items_validated combines the two.

{{ sap_order_items_converted(
    ref('stg_sap__purchase_order_items'), ref('stg_sap__purchase_orders'), 'po_id'
) }}
