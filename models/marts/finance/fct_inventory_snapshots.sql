-- Month-end inventory per product: opening and closing quantity and value at standard cost, and
-- the month's movements by type. One row per product and month from its first movement to the
-- as_of month (stock persists), so each closing is the next opening.
--
-- Incremental (DuckDB): an incremental run rebuilds the months from its window's month on
-- (macros/incremental.sql): the grid starts at that month and each product's stock carried in
-- from the earlier months (the sum of its earlier movements) starts its running sum.

{{ incremental_by_month('snapshot_month') }}

{%- set window_month = (
    incremental_window_start('snapshot_month', 'month') if is_incremental() else none
) %}

with

movements as (

    select * from {{ ref('stg_erp__inventory_movements') }}
    where movement_date <= {{ as_of_date() }}

),

monthly as (

    select
        product_id,
        {{ month_start('movement_date') }} as snapshot_month,
        sum(quantity) as quantity_change,
        sum(value_eur) as value_change,
        {% for movement_type in ['goods_receipt', 'production_consumption', 'production_output',
                                 'sales_issue', 'revaluation'] -%}
            sum(case when movement_type = '{{ movement_type }}' then value_eur else 0 end)
                as {{ movement_type }}_value,
        {% endfor -%}
        count(*) as movement_count
    from movements
    group by 1, 2

),

products as (

    select
        product_id,
        min(snapshot_month) as first_month
    from monthly
    group by 1

),

months as (

    select distinct month_start as snapshot_month
    from {{ ref('dim_dates') }}
    where month_start <= {{ month_start(as_of_date()) }}
    {%- if window_month %}
        and month_start >= {{ window_month }}
    {%- endif %}

),
{%- if window_month %}

carried_in as (

    select
        product_id,
        sum(quantity_change) as quantity_change,
        sum(value_change) as value_change
    from monthly
    where snapshot_month < {{ window_month }}
    group by 1

),
{%- endif %}

grid as (

    select
        products.product_id,
        months.snapshot_month
    from products
    inner join months
        on months.snapshot_month >= products.first_month

),

rolled as (

    select
        grid.product_id,
        grid.snapshot_month,
        coalesce(monthly.quantity_change, 0) as quantity_change,
        coalesce(monthly.value_change, 0) as value_change,
        coalesce(monthly.goods_receipt_value, 0) as goods_receipt_value,
        coalesce(monthly.production_consumption_value, 0) as production_consumption_value,
        coalesce(monthly.production_output_value, 0) as production_output_value,
        coalesce(monthly.sales_issue_value, 0) as sales_issue_value,
        coalesce(monthly.revaluation_value, 0) as revaluation_value,
        {% if window_month -%} coalesce(carried_in.quantity_change, 0) + {% endif -%}
        sum(coalesce(monthly.quantity_change, 0)) over (
            partition by grid.product_id order by grid.snapshot_month
        ) as closing_quantity,
        {% if window_month -%} coalesce(carried_in.value_change, 0) + {% endif -%}
        sum(coalesce(monthly.value_change, 0)) over (
            partition by grid.product_id order by grid.snapshot_month
        ) as closing_value
    from grid
    left join monthly
        on grid.product_id = monthly.product_id
        and grid.snapshot_month = monthly.snapshot_month
    {%- if window_month %}
    left join carried_in
        on grid.product_id = carried_in.product_id
    {%- endif %}

),

final as (

    select
        -- ids
        rolled.product_id,
        company.company_code,
        'erp' as source_system,
        -- attributes
        products.product_type,
        products.category,
        -- quantities
        cast(rolled.closing_quantity - rolled.quantity_change as decimal(18, 3))
            as opening_quantity,
        cast(rolled.closing_quantity as decimal(18, 3)) as closing_quantity,
        -- amounts, reporting currency at standard cost
        cast(rolled.closing_value - rolled.value_change as decimal(18, 2))
            as opening_value_reporting,
        cast(rolled.goods_receipt_value as decimal(18, 2)) as goods_receipt_value_reporting,
        cast(rolled.production_consumption_value as decimal(18, 2))
            as production_consumption_value_reporting,
        cast(rolled.production_output_value as decimal(18, 2)) as production_output_value_reporting,
        cast(rolled.sales_issue_value as decimal(18, 2)) as sales_issue_value_reporting,
        cast(rolled.revaluation_value as decimal(18, 2)) as revaluation_value_reporting,
        cast(rolled.closing_value as decimal(18, 2)) as closing_value_reporting,
        -- dates
        rolled.snapshot_month,
        least({{ month_end('rolled.snapshot_month') }}, {{ as_of_date() }}) as snapshot_date

    from rolled
    left join {{ ref('stg_erp__products') }} as products
        on rolled.product_id = products.product_id
    -- the ERP's inventory extract is per legal entity and does not repeat its company code
    cross join (
        select min(company_code) as company_code from {{ ref('stg_erp__company_codes') }}
    ) as company

)

select * from final
