-- SAP products with their English name (texts.csv) and the list price shifted by its currency's
-- decimals (TCURX) and converted to the reporting currency at the SAP company's as-of date.

with

products as (

    select * from {{ ref('stg_sap__products') }}

),

texts as (

    select * from {{ ref('stg_sap__texts') }}
    where language = '{{ var("sap_language", "E") }}'

),

decimals as (

    select * from {{ ref('stg_sap__currency_decimals') }}

),

shifted as (

    select
        products.*,
        texts.text_value as product_name,
        {{ sap_external_amount('products.list_price_stored', 'decimals.decimals') }} as list_price
    from products
    left join texts
        on products.name_text_id = texts.text_id
    left join decimals
        on products.currency = decimals.currency

),

final as (

    select
        shifted.*,
        {{ sap_to_reporting('shifted.list_price', 'shifted.currency', 'rate') }}
            as list_price_reporting
    from shifted
    {{ sap_join_rate('rate', 'shifted.currency', source_as_of_date('sap')) }}

)

select * from final
