{#-
    What the models know of a source system, from var('sources') (finkpi passes it from its
    source registry). A macro here takes the source's name as data and never branches on it.
-#}

{#- The business date a source's data reaches: its company's own as_of_date. -#}
{% macro source_as_of_date(source_name) -%}
    {%- set declared = var('sources', {}).get(source_name) -%}
    {%- if declared is none -%}
        {{ exceptions.raise_compiler_error(
            "source system '" ~ source_name ~ "' is not in var('sources'): register it in finkpi/sources/"
        ) }}
    {%- endif -%}
    cast('{{ declared["as_of_date"] }}' as date)
{%- endmacro %}

{#- The company code of a source whose rows carry none (a single-company CRM), as a literal. -#}
{% macro source_company_code(source_name) -%}
    {%- set declared = var('sources', {}).get(source_name) -%}
    {%- if declared is none or declared.get('company_code') is none -%}
        {{ exceptions.raise_compiler_error(
            "source system '" ~ source_name ~ "' declares no company code: its rows must carry one"
        ) }}
    {%- endif -%}
    '{{ declared["company_code"] }}'
{%- endmacro %}

{#- Per row, the business date the data of the source named in `source_column` reaches: one
    branch per registered source, NULL for a source the registry does not know. -#}
{% macro source_as_of_date_of(source_column) -%}
    {%- set declared_sources = var('sources', {}) -%}
    {%- if not declared_sources -%}
        {{ exceptions.raise_compiler_error("var('sources') is empty: register the sources in finkpi/sources/") }}
    {%- endif -%}
    case {{ source_column }}
    {%- for source_name, declared in declared_sources.items() %}
        when '{{ source_name }}' then cast('{{ declared["as_of_date"] }}' as date)
    {%- endfor %}
    end
{%- endmacro %}
