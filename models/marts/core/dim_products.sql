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

),

-- the SAP source: products sold (TYPECODE PR) are finished goods here; the list price is in the
-- reporting currency at the SAP company's as-of date; SAP's extract has no standard costs
sap_products as (

    select
        -- ids
        product_id,
        source_system,
        -- attributes
        product_name,
        case type_code when 'PR' then 'finished' else 'advertisement' end as product_type,
        category as product_category,
        unit_of_measure,
        -- amounts
        list_price_reporting,
        cast(null as decimal(18, 4)) as current_standard_cost_reporting
    from {{ ref('int_sap_products_named') }}

)

select * from final
union all
select * from sap_products
