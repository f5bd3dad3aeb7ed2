-- Every write-off with the quality rules it breaks (expectations/rules.yml). A write-off of a
-- quarantined invoice leaves the flow with it (parent_quarantined): the invoice's open balance is
-- not in the marts, so neither is anything that moves it. Downstream models read
-- `accepted('int_write_offs_validated')`.

with

documents as (

    select * from {{ ref('stg_erp__write_offs') }}

),

invoices as (

    select
        invoice_id,
        _quarantined
    from {{ ref('int_invoices_validated') }}

),

checked as (

    select
        documents.*,
        {{ rule_failures([
            rule('parent_quarantined', 'invoices._quarantined'),
        ]) }} as _rule_failures
    from documents
    left join invoices
        on documents.invoice_id = invoices.invoice_id

)

select
    *,
    {{ is_quarantined('_rule_failures') }} as _quarantined
from checked
