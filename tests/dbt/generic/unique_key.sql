{#-
    Primary-key uniqueness that names the offenders. dbt's built-in `unique` prints only a count;
    this returns every duplicated key with its source file and line (when the model carries
    `_source_file`/`_source_row`), so the failure message can say where each copy came from.
-#}
{% test unique_key(model, columns) %}

{%- set key_columns = [columns] if columns is string else columns -%}
{%- set position_columns = [] -%}
{%- if execute -%}
    {%- set present = adapter.get_columns_in_relation(model) | map(attribute='name') | map('lower') | list -%}
    {%- if '_source_row' in present -%}
        {%- set position_columns = ['_source_file', '_source_row'] -%}
    {%- endif -%}
{%- endif %}

with keyed as (

    select
        {% for column in key_columns -%}
            {{ column }},
        {% endfor -%}
        {% for column in position_columns -%}
            {{ column }},
        {% endfor -%}
        count(*) over (partition by {{ key_columns | join(', ') }}) as occurrences
    from {{ model }}

)

select *
from keyed
where occurrences > 1
order by {{ (key_columns + position_columns) | join(', ') }}

{% endtest %}
