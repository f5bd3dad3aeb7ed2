-- Every credit note with the quality rules it breaks (expectations/rules.yml). A credit note of a
-- quarantined invoice leaves the flow with it (parent_quarantined). Downstream models read
-- `accepted('int_credit_notes_validated')`.

{{ documents_of_validated_invoices(ref('stg_erp__credit_notes')) }}
