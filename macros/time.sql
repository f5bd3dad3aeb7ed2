{#- The business date the run reports up to (ARCHITECTURE.md, Time). -#}
{% macro as_of_date() -%}
    cast('{{ var("as_of_date") }}' as date)
{%- endmacro %}

{#- First day of the month of a date. -#}
{% macro month_start(date_expr) -%}
    cast({{ dbt.date_trunc('month', date_expr) }} as date)
{%- endmacro %}

{#- Last day of the month of a date. -#}
{% macro month_end(date_expr) -%}
    {{ dbt.last_day(date_expr, 'month') }}
{%- endmacro %}
