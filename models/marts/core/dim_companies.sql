-- Legal entities (company codes) with the source system that keeps their books: the sample's
-- from its ERP extract, the SAP company from the seed sap_company_codes (SAP's extract has none).

select
    -- ids
    company_code,
    source_system,
    -- attributes
    company_name,
    country,
    local_currency
from {{ ref('stg_erp__company_codes') }}

union all

select
    -- ids
    company_code,
    'sap' as source_system,
    -- attributes
    company_name,
    country,
    local_currency
from {{ ref('sap_company_codes') }}
