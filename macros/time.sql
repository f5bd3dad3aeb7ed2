{#- The business date the run reports up to (ARCHITECTURE.md, Time). -#}
{% macro as_of_date() -%}
    cast('{{ run_as_of_date() }}' as date)
{%- endmacro %}

{#-
    The run's as_of_date as text. finkpi passes the run's dates as environment variables
    (FINKPI_RUN_*, finkpi/settings.py `dbt_call`), not as vars: dbt parses the whole project again
    whenever a var changes, and only the files that read an environment variable when it changes.
    Without finkpi (sqlfluff, dbt by hand): var as_of_date.
-#}
{% macro run_as_of_date() -%}
    {{ return(env_var('FINKPI_RUN_AS_OF_DATE', '') or var('as_of_date')) }}
{%- endmacro %}

{#- First day of the month of a date. -#}
{% macro month_start(date_expr) -%}
    cast({{ dbt.date_trunc('month', date_expr) }} as date)
{%- endmacro %}

{#- Last day of the month of a date. -#}
{% macro month_end(date_expr) -%}
    {{ dbt.last_day(date_expr, 'month') }}
{%- endmacro %}
