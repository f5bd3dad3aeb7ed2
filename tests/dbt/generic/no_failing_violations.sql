{#- A rule of severity `fail` broken by any row stops the run; returns each such row, with what
    the rule found (detail: an entry off by 10000.00 EUR) and its values (the offending value among
    them: a rate of -1.08). -#}
{% test no_failing_violations(model) %}

select
    rule_id,
    source_model,
    record_key,
    source_file,
    source_line,
    reason,
    detail,
    row_values
from {{ model }}
where severity = 'fail'

{% endtest %}
