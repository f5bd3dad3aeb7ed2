-- Legal entities (company codes) with the source system that keeps their books: the sample's
-- from its ERP extract, the SAP company from the seed sap_company_codes (SAP's extract has none),
-- and a company only a registered source declares (a CRM of a company no ERP here knows).
-- Each company's own as_of_date is the business date its source's data reaches (var 'sources'):
-- the metric exports publish a company's periods up to it and judge their completeness by it.

with

companies as (

    select
        company_code,
        source_system,
        company_name,
        country,
        local_currency
    from {{ ref('stg_erp__company_codes') }}

    union all

    select
        company_code,
        'sap' as source_system,
        company_name,
        country,
        local_currency
    from {{ ref('sap_company_codes') }}

),

declared as (

    {{ registered_companies() }}

),

all_companies as (

    select * from companies

    union all

    select * from declared
    where company_code not in (select company_code from companies)

)

select
    -- ids
    company_code,
    source_system,
    -- attributes
    company_name,
    country,
    local_currency,
    -- dates
    {{ source_as_of_date_of('source_system') }} as as_of_date
from all_companies
