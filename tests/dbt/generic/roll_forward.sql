{#-
    A balance roll-forward holds in every row and chains from one period to the next:
      opening + sum(increases) - sum(decreases) = closing, and
      the closing of a period is the opening of the next period of the same entity.
    `entity` is the column(s) identifying the balance (e.g. invoice_id), `period` orders them.
-#}
{% test roll_forward(model, entity, period, opening, closing, increases=[], decreases=[]) %}

{%- set entity_columns = [entity] if entity is string else entity -%}

with checked as (

    select
        {{ entity_columns | join(', ') }},
        {{ period }} as period,
        {{ opening }} as opening,
        {{ closing }} as closing,
        {{ opening }}
        {%- for column in increases %} + {{ column }}{% endfor %}
        {%- for column in decreases %} - {{ column }}{% endfor %} as expected_closing,
        lag({{ closing }}) over (
            partition by {{ entity_columns | join(', ') }} order by {{ period }}
        ) as previous_closing
    from {{ model }}

)

select
    *,
    case
        when expected_closing <> closing then 'opening + movements <> closing'
        else 'opening <> previous closing'
    end as broken_rule
from checked
where expected_closing <> closing
    or (previous_closing is not null and previous_closing <> opening)

{% endtest %}
