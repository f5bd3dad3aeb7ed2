-- The company and its six departments (governed reference data, seeds/org_units.csv).

select
    cast(org_unit as {{ dbt.type_string() }}) as org_unit,
    cast(org_unit_type as {{ dbt.type_string() }}) as org_unit_type,
    cast(parent_org_unit as {{ dbt.type_string() }}) as parent_org_unit,
    cast(description as {{ dbt.type_string() }}) as description
from {{ ref('org_units') }}
