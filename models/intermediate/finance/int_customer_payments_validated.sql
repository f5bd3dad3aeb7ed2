-- Every customer payment with the quality rules it breaks (expectations/rules.yml). A payment of a
-- quarantined invoice leaves the flow with it (parent_quarantined). Downstream models read
-- `accepted('int_customer_payments_validated')`.

{{ documents_of_validated_invoices(ref('stg_erp__customer_payments')) }}
