{#- The business date the run reports up to (ARCHITECTURE.md, Time). -#}
{% macro as_of_date() -%}
    cast('{{ run_as_of_date() }}' as date)
{%- endmacro %}

{#-
    The run's as_of_date as text. finkpi passes the run's dates as environment variables
    (FINKPI_RUN_*, finkpi/settings.py `dbt_call`), not as vars: dbt parses the whole project again
    whenever a var changes. Read only when executing (`run_date_env`). Without finkpi (sqlfluff,
    dbt by hand): var as_of_date.
-#}
{% macro run_as_of_date() -%}
    {{ return(run_date_env('FINKPI_RUN_AS_OF_DATE') or var('as_of_date')) }}
{%- endmacro %}

{#-
    One of the run's dates from the environment, '' if unset. Only when executing: dbt records
    every environment variable a file reads while it is parsed and parses the file again when the
    value changes (tens of models and the source definitions, every day); what a model renders
    while parsed is never compiled, so the date is not needed then.
-#}
{% macro run_date_env(name) -%}
    {{ return(env_var(name, '') if execute else '') }}
{%- endmacro %}

{#- First day of the month of a date. -#}
{% macro month_start(date_expr) -%}
    cast({{ dbt.date_trunc('month', date_expr) }} as date)
{%- endmacro %}

{#- Last day of the month of a date. -#}
{% macro month_end(date_expr) -%}
    {{ dbt.last_day(date_expr, 'month') }}
{%- endmacro %}
