-- Every write-off with the quality rules it breaks (expectations/rules.yml). A write-off of a
-- quarantined invoice leaves the flow with it (parent_quarantined). Downstream models read
-- `accepted('int_write_offs_validated')`.

{{ documents_of_validated_invoices(ref('stg_erp__write_offs')) }}
