-- Production orders: planned against actual output, good against scrapped units, actual cost.

with

production_orders as (

    select * from {{ ref('stg_erp__production_orders') }}

),

products as (

    select * from {{ ref('stg_erp__products') }}

),

final as (

    select
        -- ids
        production_orders.production_order_id,
        production_orders.product_id,
        company.company_code,
        production_orders.source_system,
        -- attributes
        products.category,
        production_orders.status,
        -- quantities
        production_orders.planned_quantity,
        production_orders.actual_quantity,
        production_orders.good_quantity,
        production_orders.scrapped_quantity,
        -- amounts
        production_orders.actual_cost_eur as actual_cost_reporting,
        -- dates
        production_orders.start_date,
        production_orders.finish_date,
        -- lineage
        production_orders._source_file,
        production_orders._source_row

    from production_orders
    left join products
        on production_orders.product_id = products.product_id
    -- the ERP's production extract is per legal entity and does not repeat its company code
    cross join (
        select min(company_code) as company_code from {{ ref('stg_erp__company_codes') }}
    ) as company
    where production_orders.finish_date <= {{ as_of_date() }}

)

select * from final
