{#-
    Source freshness relative to the business date, not the wall clock: the newest value of
    `date_column` must be at most `max_age_days` before as_of_date. Returns one row when stale.
    The raw value is text; its first ten characters are the ISO date (also for CRM timestamps).
    `source_system`: judge against that source's own business date (its registry entry's as-of
    date, var sources) instead of the run's; date rules hold per company.
-#}
{% test fresh_as_of(model, date_column, max_age_days, source_system=none) %}
{%- set as_of_sql = source_as_of_date(source_system) if source_system else as_of_date() %}

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
