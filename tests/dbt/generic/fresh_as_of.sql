{#-
    Source freshness relative to the business date, not the wall clock: the newest value of
    `date_column` must be at most `max_age_days` before as_of_date. Returns one row when stale.
    The raw value is text; its first ten characters are the ISO date (also for CRM timestamps).
    `as_of`: the name of another date var, for a source whose company has a business date of its
    own (the SAP company: var sap_as_of_date); date rules hold per company.
-#}
{% test fresh_as_of(model, date_column, max_age_days, as_of=none) %}
{%- set as_of_sql = "cast('" ~ var(as_of) ~ "' as date)" if as_of else as_of_date() %}

with newest as (

    select max(try_cast(left(trim("{{ date_column }}"), 10) as date)) as newest_date
    from {{ model }}

)

select
    newest_date,
    {{ as_of_sql }} as as_of_date,
    {{ max_age_days }} as max_age_days
from newest
where newest_date is null
    or newest_date < {{ as_of_sql }} - {{ max_age_days }}

{% endtest %}
