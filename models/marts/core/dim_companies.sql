-- Legal entities (company codes) with the source system that keeps their books.

select
    -- ids
    company_code,
    source_system,
    -- attributes
    company_name,
    country,
    local_currency
from {{ ref('stg_erp__company_codes') }}
