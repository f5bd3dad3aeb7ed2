{#-
    What the models know of a source system, from var('sources') (finkpi passes every registered
    source from its registry, finkpi/sources/; the business dates in FINKPI_RUN_SOURCE_AS_OF_DATES). A macro here takes the source's name as data and
    never branches on it. A source missing from the var (dbt called without finkpi's vars, as
    sqlfluff does) gets the run's defaults; tests keep the registry and the dbt sources equal.
-#}

{%- macro registered_source(source_name) -%}
    {{ return(var('sources', {}).get(source_name, {})) }}
{%- endmacro -%}

{#- The business date a source's data reaches: its company's own as_of_date. -#}
{% macro source_as_of_date(source_name) -%}
    {%- set declared = run_source_as_of_dates().get(source_name) -%}
    {%- if declared -%}
        cast('{{ declared }}' as date)
    {%- else -%}
        {{ as_of_date() }}
    {%- endif -%}
{%- endmacro %}

{#- The company code of a source whose rows carry none (a single-company CRM), as a literal. -#}
{% macro source_company_code(source_name) -%}
    {%- set declared = registered_source(source_name).get('company_code') -%}
    {%- if declared -%}
        '{{ declared }}'
    {%- else -%}
        cast(null as {{ dbt.type_string() }})
    {%- endif -%}
{%- endmacro %}

{#- The format of a source's files (csv | parquet). -#}
{% macro source_raw_format(source_name) -%}
    {{ return(registered_source(source_name).get('raw_format', var('raw_format', 'csv'))) }}
{%- endmacro %}

{#- Per row, the business date the data of the source named in `source_column` reaches: one
    branch per registered source, NULL for a source the registry does not know. -#}
{% macro source_as_of_date_of(source_column) -%}
    {%- set declared_sources = var('sources', {}) -%}
    {%- if not declared_sources -%}
        {{ exceptions.raise_compiler_error("var('sources') is empty: register the sources in finkpi/sources/") }}
    {%- endif -%}
    {%- set dates = run_source_as_of_dates() %}
    case {{ source_column }}
    {%- for source_name in declared_sources %}
        when '{{ source_name }}' then cast('{{ dates.get(source_name) or run_as_of_date() }}' as date)
    {%- endfor %}
    end
{%- endmacro %}

{#- Source name -> the business date its data reaches (text), as finkpi passes them for the run
    (FINKPI_RUN_SOURCE_AS_OF_DATES, JSON; an environment variable, not a var: macros/time.sql,
    run_as_of_date), else from var('sources') (dbt called without finkpi). -#}
{% macro run_source_as_of_dates() -%}
    {%- set passed = run_date_env('FINKPI_RUN_SOURCE_AS_OF_DATES') -%}
    {%- if passed -%}
        {{ return(fromjson(passed)) }}
    {%- endif -%}
    {%- set declared = {} -%}
    {%- for source_name, source in var('sources', {}).items() -%}
        {%- if source.get('as_of_date') -%}
            {%- do declared.update({source_name: source['as_of_date']}) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(declared) }}
{%- endmacro %}

{#- The companies the registered sources declare (a source whose rows carry no company code), as
    rows of dim_companies: company_code, source_system, company_name, country, local_currency. -#}
{% macro registered_companies() -%}
    {%- set rows = [] -%}
    {%- for source_name, declared in var('sources', {}).items() -%}
        {%- set company = declared.get('company') -%}
        {%- if company and declared.get('company_code') -%}
            {%- do rows.append(
                "select " ~ sql_text(declared['company_code']) ~ " as company_code, "
                ~ sql_text(source_name) ~ " as source_system, "
                ~ sql_text(company.get('name') or declared['company_code']) ~ " as company_name, "
                ~ sql_text(company.get('country') or none) ~ " as country, "
                ~ sql_text(company.get('currency') or none) ~ " as local_currency"
            ) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if rows -%}
        {{ rows | join('\n    union all\n    ') }}
    {%- else -%}
        select
            {{ sql_text(none) }} as company_code,
            {{ sql_text(none) }} as source_system,
            {{ sql_text(none) }} as company_name,
            {{ sql_text(none) }} as country,
            {{ sql_text(none) }} as local_currency
        where false
    {%- endif -%}
{%- endmacro %}

{#- A text literal (quotes doubled), or a typed NULL. -#}
{% macro sql_text(value) -%}
    {%- if value is none or value == '' -%}
        cast(null as {{ dbt.type_string() }})
    {%- else -%}
        '{{ value | replace("'", "''") }}'
    {%- endif -%}
{%- endmacro %}

{#- Whether `expr` is outside the values a source declares for one column of one table
    (SourceTable's Column.values, var('sources')): NULL counts as outside. A column the source
    declares no values for stops the compilation, so a rule never checks an empty set. -#}
{% macro not_declared_value(expr, source_name, table, column) -%}
    {%- set values = registered_source(source_name).get('values', {}).get(table, {}).get(column) -%}
    {%- if not values -%}
        {{ exceptions.raise_compiler_error(
            "source " ~ source_name ~ " declares no values for " ~ table ~ "." ~ column
            ~ " (its registry entry, finkpi/sources/)") }}
    {%- endif -%}
    ({{ expr }} is null or {{ expr }} not in (
        {%- for value in values %}{{ sql_text(value) }}{{ ', ' if not loop.last }}{% endfor -%}
    ))
{%- endmacro %}
