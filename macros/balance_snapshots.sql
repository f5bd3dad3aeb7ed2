{#-
    Month-end balances of open items (invoices, supplier invoices) from their movements.

    `movements` has one row per document with: the entity key, `movement_type`, `amount`,
    `amount_reporting` (both positive), `movement_date`, and the entity's attributes.
    One row per entity and month from the entity's first movement to the month it is settled
    (closing = 0), or to the as_of month while it is still open, so consecutive rows chain:
    opening + increases - decreases = closing, and each closing is the next opening.
    The snapshot date is the month end, or as_of_date for the month that contains it.

    In an incremental run (macros/incremental.sql, grain 'month') only the months from the
    window's month on are built: the grid starts there and each entity's balance carried in from
    the earlier months (the sum of its earlier movements) is added to the running sum, so the
    rows equal a full build's.
-#}
{% macro monthly_balance_snapshots(movements, entity_key, attributes, increases, decreases) %}

{%- set all_types = increases + decreases -%}
{%- set window_month = (
    incremental_window_start('snapshot_month', 'month') if is_incremental() else none
) -%}

with

movements as (

    select * from {{ movements }}

),

entities as (

    select
        {{ entity_key }},
        {% for attribute in attributes -%}
            any_value({{ attribute }}) as {{ attribute }},
        {% endfor -%}
        min({{ month_start('movement_date') }}) as first_month
    from movements
    group by {{ entity_key }}

),

monthly as (

    select
        {{ entity_key }},
        {{ month_start('movement_date') }} as snapshot_month,
        {% for movement_type in all_types -%}
            sum(case when movement_type = '{{ movement_type }}' then amount else 0 end)
                as {{ movement_type }}_amount,
            sum(case when movement_type = '{{ movement_type }}' then amount_reporting else 0 end)
                as {{ movement_type }}_amount_reporting,
        {% endfor -%}
        sum(
            case when movement_type in ('{{ increases | join("', '") }}') then amount else -amount end
        ) as net_change,
        sum(
            case
                when movement_type in ('{{ increases | join("', '") }}') then amount_reporting
                else -amount_reporting
            end
        ) as net_change_reporting
    from movements
    group by 1, 2

),

spans as (

    select
        {{ entity_key }},
        max(snapshot_month) as last_movement_month,
        sum(net_change) as final_balance
    from monthly
    group by 1

),

months as (

    select distinct month_start as snapshot_month
    from {{ ref('dim_dates') }}
    {%- if window_month %}
    where month_start >= {{ window_month }}
    {%- endif %}

),
{%- if window_month %}

carried_in as (

    select
        {{ entity_key }},
        sum(net_change) as net_change,
        sum(net_change_reporting) as net_change_reporting
    from monthly
    where snapshot_month < {{ window_month }}
    group by 1

),
{%- endif %}

grid as (

    select
        entities.*,
        months.snapshot_month
    from entities
    inner join spans
        on entities.{{ entity_key }} = spans.{{ entity_key }}
    inner join months
        on months.snapshot_month >= entities.first_month
        and months.snapshot_month <= case
            when spans.final_balance = 0 then spans.last_movement_month
            else {{ month_start(as_of_date()) }}
        end

),

rolled as (

    select
        grid.*,
        {% for movement_type in all_types -%}
            coalesce(monthly.{{ movement_type }}_amount, 0) as {{ movement_type }}_amount,
            coalesce(monthly.{{ movement_type }}_amount_reporting, 0)
                as {{ movement_type }}_amount_reporting,
        {% endfor -%}
        {% if window_month -%} coalesce(carried_in.net_change, 0) + {% endif -%}
        sum(coalesce(monthly.net_change, 0)) over (
            partition by grid.{{ entity_key }} order by grid.snapshot_month
        ) as closing_amount,
        {% if window_month -%} coalesce(carried_in.net_change_reporting, 0) + {% endif -%}
        sum(coalesce(monthly.net_change_reporting, 0)) over (
            partition by grid.{{ entity_key }} order by grid.snapshot_month
        ) as closing_amount_reporting,
        coalesce(monthly.net_change, 0) as net_change,
        coalesce(monthly.net_change_reporting, 0) as net_change_reporting
    from grid
    left join monthly
        on grid.{{ entity_key }} = monthly.{{ entity_key }}
        and grid.snapshot_month = monthly.snapshot_month
    {%- if window_month %}
    left join carried_in
        on grid.{{ entity_key }} = carried_in.{{ entity_key }}
    {%- endif %}

)

select
    *,
    least({{ month_end('snapshot_month') }}, {{ as_of_date() }}) as snapshot_date,
    cast(closing_amount - net_change as decimal(18, 2)) as opening_amount,
    cast(closing_amount_reporting - net_change_reporting as decimal(18, 2)) as opening_amount_reporting
from rolled

{% endmacro %}

{#- Aging of an open balance by its due date, as finance reports it. -#}
{% macro aging_bucket(closing_amount, snapshot_date, due_date) -%}
    case
        when {{ closing_amount }} = 0 then 'settled'
        when {{ snapshot_date }} <= {{ due_date }} then 'not_due'
        when {{ dbt.datediff(due_date, snapshot_date, 'day') }} <= 30 then '1-30'
        when {{ dbt.datediff(due_date, snapshot_date, 'day') }} <= 60 then '31-60'
        when {{ dbt.datediff(due_date, snapshot_date, 'day') }} <= 90 then '61-90'
        else '91+'
    end
{%- endmacro %}
