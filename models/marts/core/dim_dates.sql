-- The calendar, one row per day, with the fiscal calendar of ARCHITECTURE.md: the fiscal year
-- starts in month `fiscal_year_start_month` and is named by the calendar year it ends in
-- (start in April: 2024-04-01 .. 2025-03-31 is FY2025). Quarters are fiscal quarters.

{%- set start_month = var('fiscal_year_start_month') | int %}

with

days as (

    {{ calendar_days(
        "cast('" ~ var('calendar_start') ~ "' as date)",
        "cast('" ~ var('calendar_end') ~ "' as date)",
    ) }}

),

fiscal as (

    select
        date_day,
        -- months since the start of the fiscal year, 0..11
        (month(date_day) - {{ start_month }} + 12) % 12 as fiscal_month_index,
        {% if start_month == 1 -%}
            year(date_day)
        {%- else -%}
            year(date_day) + case when month(date_day) >= {{ start_month }} then 1 else 0 end
        {%- endif %} as fiscal_year
    from days

),

final as (

    select
        date_day,
        cast(date_trunc('month', date_day) as date) as month_start,
        {{ month_end('date_day') }} as month_end,
        year(date_day) as calendar_year,
        month(date_day) as calendar_month,
        cast(fiscal_year as integer) as fiscal_year,
        cast({{ integer_divide('fiscal_month_index', 3) }} + 1 as integer) as fiscal_quarter,
        cast(fiscal_month_index + 1 as integer) as fiscal_month,
        cast(
            {{ dbt.dateadd('month', '-fiscal_month_index', "date_trunc('month', date_day)") }}
                as date
        ) as fiscal_year_start,
        cast(
            {{ dbt.dateadd('month', '-(fiscal_month_index % 3)', "date_trunc('month', date_day)") }}
            as date
        ) as fiscal_quarter_start,
        {{ year_month_label('date_day') }} as month_label,
        'FY' || cast(fiscal_year as {{ dbt.type_string() }})
        || '-Q'
        || cast({{ integer_divide('fiscal_month_index', 3) }} + 1 as {{ dbt.type_string() }})
            as fiscal_quarter_label,
        'FY' || cast(fiscal_year as {{ dbt.type_string() }}) as fiscal_year_label,
        {{ iso_day_of_week('date_day') }} in (6, 7) as is_weekend,
        -- the days a period has run by as_of_date (counted by balance-based metrics such as dso)
        date_day <= {{ as_of_date() }} as is_through_as_of
    from fiscal

)

select * from final
