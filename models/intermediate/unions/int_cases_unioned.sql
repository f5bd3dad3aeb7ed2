-- The service cases of every CRM source, as their validated models accept them: the one place a
-- new CRM source adds its branch (`finkpi source new` prints it; docs/adding-a-source.md). The
-- columns are those of stg_crm__cases, in its order.

select * from ({{ accepted('int_crm_cases_validated') }}) as crm
