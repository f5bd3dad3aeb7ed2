-- Suppliers as the ERP knows them.

select
    -- ids
    supplier_id,
    company_code,
    source_system,
    -- attributes
    supplier_name,
    country,
    currency,
    category as supplier_category,
    payment_terms_days
from {{ ref('stg_erp__suppliers') }}
