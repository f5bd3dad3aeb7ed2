{#- A rule of severity `fail` broken by any row stops the run; returns each such row. -#}
{% test no_failing_violations(model) %}

select
    rule_id,
    source_model,
    record_key,
    source_file,
    source_line,
    reason,
    detail
from {{ model }}
where severity = 'fail'

{% endtest %}
