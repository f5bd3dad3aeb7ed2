{#- Schemas are named after the layer (staging, intermediate, marts), not prefixed with the
    target schema: the build warehouse is one DuckDB file per environment already. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
