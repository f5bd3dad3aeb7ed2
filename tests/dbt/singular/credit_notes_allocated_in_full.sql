-- Every credit note is spread over its invoice's lines in full, to the cent (the allocation's
-- remainder rule). Returns the accepted credit notes that are not (the quarantined ones are in
-- quarantine.rule_violations).

with

allocated as (

    select
        credit_note_id,
        sum(net_amount) as allocated_net,
        sum(tax_amount) as allocated_tax,
        count(*) as allocated_lines
    from {{ ref('int_credit_note_lines_allocated') }}
    group by credit_note_id

)

select
    credit_notes.credit_note_id,
    credit_notes.net_amount,
    allocated.allocated_net,
    credit_notes.tax_amount,
    allocated.allocated_tax,
    credit_notes._source_file,
    credit_notes._source_row
from ({{ accepted('int_credit_notes_validated') }}) as credit_notes
left join allocated
    on credit_notes.credit_note_id = allocated.credit_note_id
where allocated.credit_note_id is null
    or allocated.allocated_net <> credit_notes.net_amount
    or allocated.allocated_tax <> credit_notes.tax_amount
