-- The opportunities of every CRM source, as their validated models accept them (each converts
-- its amounts with its own rates): the one place a new CRM source adds its branch
-- (`finkpi source new` prints it; docs/adding-a-source.md). The columns are those of
-- int_crm_opportunities_validated, in its order.

select * from ({{ accepted('int_crm_opportunities_validated') }}) as crm
