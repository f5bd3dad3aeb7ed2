-- Products (finished goods and materials) with the standard cost valid at as_of_date.

with

products as (

    select * from {{ ref('stg_erp__products') }}

),

final as (

    select
        -- ids
        products.product_id,
        products.source_system,
        -- attributes
        products.product_name,
        products.product_type,
        products.category as product_category,
        products.unit_of_measure,
        -- amounts
        products.list_price_eur as list_price_reporting,
        current_cost.standard_cost_eur as current_standard_cost_reporting

    from products
    {{ join_standard_cost('current_cost', 'products.product_id', as_of_date()) }}

)

select * from final
