{#-
    The share of a model's rows quarantined by one rule stays at or below the rule's threshold
    (expectations/rules.yml). Returns each model and rule past it, with the first keys and lines.
-#}
{% test quarantine_within_threshold(model) %}

with by_rule as (

    select
        source_model,
        rule_id,
        count(distinct source_line) as quarantined_rows,
        max(model_rows) as model_rows,
        max(threshold) as threshold,
        string_agg(record_key, ', ' order by source_line)
            filter (where source_line is not null) as record_keys,
        min(source_file) as source_file,
        string_agg(cast(source_line as varchar), ', ' order by source_line) as source_lines
    from {{ model }}
    where severity = 'quarantine'
    group by source_model, rule_id

)

select
    source_model,
    rule_id,
    quarantined_rows,
    model_rows,
    round(quarantined_rows / nullif(model_rows, 0), 4) as quarantined_share,
    threshold,
    left(record_keys, 200) as first_keys,
    source_file,
    left(source_lines, 200) as first_lines
from by_rule
where quarantined_rows > coalesce(threshold, 0) * model_rows

{% endtest %}
