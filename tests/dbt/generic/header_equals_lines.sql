{#-
    A business identity: a header amount equals the sum of its lines, per header key.
    Returns each header where they differ (a header without lines counts as a sum of 0).
-#}
{% test header_equals_lines(model, column_name, key, lines_model, lines_column, lines_key=none) %}

with headers as (

    select * from {{ model }}

),

line_totals as (

    select
        {{ lines_key or key }} as header_key,
        sum({{ lines_column }}) as lines_total
    from {{ lines_model }}
    group by 1

)

select
    header.{{ key }} as header_key,
    header.{{ column_name }} as header_total,
    coalesce(line_totals.lines_total, 0) as lines_total
from headers as header
left join line_totals
    on header.{{ key }} = line_totals.header_key
where header.{{ column_name }} <> coalesce(line_totals.lines_total, 0)

{% endtest %}
