-- SAP sales order items with every rule they break: their own (int_sap_sales_order_items_converted)
-- and sap_order_quarantined when their order leaves the flow (the document leaves as a whole).

{{ sap_order_items_validated(
    ref('int_sap_sales_order_items_converted'), ref('int_sap_sales_orders_validated'), 'order_id'
) }}
