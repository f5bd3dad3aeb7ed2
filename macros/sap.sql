{#-
    Building blocks of the SAP source (models/staging/sap/, models/intermediate/sap/). SAP names
    columns with dots (HISTORY.CREATEDAT), so every raw column is quoted by the adapter; values
    are cast with dbt's cross-database safe_cast: a value that does not parse becomes NULL and is
    caught by the rule sap_invalid_value (real SAP data has such rows), not a failed run.
-#}

{#- A raw SAP column as trimmed text, empty as NULL. -#}
{% macro sap_text(column) -%}
    nullif(trim({{ adapter.quote(column) }}), '')
{%- endmacro %}

{#- A raw SAP column cast to `type`, NULL when it does not parse. -#}
{% macro sap_typed(column, type) -%}
    {{ sap_safe_cast(sap_text(column), type) }}
{%- endmacro %}

{#-
    A cast that gives NULL for a value that does not parse. dbt's own safe_cast is a plain cast on
    dbt-duckdb (it raises); DuckDB's try_cast is the safe one. On Spark, cast is safe only while
    ANSI mode is off (dbt-spark's session turns it off; Spark 4's default is on): try_cast is
    NULL for a value that does not parse whatever that setting.
-#}
{% macro sap_safe_cast(expression, type) -%}
    {{ return(adapter.dispatch('sap_safe_cast')(expression, type)) }}
{%- endmacro %}

{% macro default__sap_safe_cast(expression, type) -%}
    {{ dbt.safe_cast(expression, type) }}
{%- endmacro %}

{% macro duckdb__sap_safe_cast(expression, type) -%}
    try_cast({{ expression }} as {{ type }})
{%- endmacro %}

{% macro spark__sap_safe_cast(expression, type) -%}
    try_cast({{ expression }} as {{ type }})
{%- endmacro %}

{#-
    SAP's inverted date (TCURR/TCURF GDATU): 99999999 - yyyymmdd, so that the newest rate sorts
    first. 79989898 -> 20010101 -> 2001-01-01.
-#}
{% macro sap_inverted_date(column) -%}
    {%- set digits = "cast(99999999 - " ~ sap_safe_cast(sap_text(column), "bigint") ~ " as " ~ dbt.type_string() ~ ")" -%}
    {{ sap_safe_cast(
        "substr(" ~ digits ~ ", 1, 4) || '-' || substr(" ~ digits ~ ", 5, 2) || '-' || substr("
        ~ digits ~ ", 7, 2)",
        "date",
    ) }}
{%- endmacro %}

{#-
    SAP stores every amount with two decimals; a currency with other decimals (TCURX) is shifted:
    JPY (0 decimals) 22.99 in the table is 2,299 yen. `decimals` NULL means two (not in TCURX).
-#}
{% macro sap_external_amount(amount, decimals) -%}
    cast({{ amount }} * power(10, 2 - coalesce({{ decimals }}, 2)) as decimal(18, 2))
{%- endmacro %}

{#-
    An amount converted with a resolved SAP rate (int_sap_exchange_rates_resolved), rounded to the
    cent: a positive quoted rate is direct (to-units per from-unit), a negative one an inverse
    quotation (from-units per to-unit); the TCURF ratio says how many units each side counts
    (100 JPY = 7.216 CNY: from_factor 100). NULL without a rate (rule sap_missing_exchange_rate).
-#}
{% macro sap_convert(amount, rate) -%}
    cast(round(
        case
            when {{ rate }}.is_inverse_quotation
                then {{ amount }} * {{ rate }}.to_factor
                    / (abs({{ rate }}.quoted_rate) * {{ rate }}.from_factor)
            else {{ amount }} * {{ rate }}.quoted_rate * {{ rate }}.to_factor / {{ rate }}.from_factor
        end, 2) as decimal(18, 2))
{%- endmacro %}

{#- An amount in the reporting currency: as is when already in it, else converted. -#}
{% macro sap_to_reporting(amount, currency, rate) -%}
    case
        when {{ currency }} = '{{ var("reporting_currency") }}' then cast({{ amount }} as decimal(18, 2))
        else {{ sap_convert(amount, rate) }}
    end
{%- endmacro %}

{#- The resolved rate from `currency` to the reporting currency valid on `on_date`. -#}
{% macro sap_join_rate(alias, currency, on_date) -%}
    left join {{ ref('int_sap_exchange_rates_resolved') }} as {{ alias }}
        on {{ alias }}.from_currency = {{ currency }}
        and {{ alias }}.to_currency = '{{ var("reporting_currency") }}'
        and {{ on_date }} >= {{ alias }}.valid_from
        and {{ on_date }} < {{ alias }}.valid_to
{%- endmacro %}

{#- The English (var sap_language) meaning of a status code of one constants domain. -#}
{% macro sap_join_constant(alias, domain, code) -%}
    left join {{ ref('stg_sap__constants') }} as {{ alias }}
        on {{ alias }}.domain = '{{ domain }}'
        and {{ alias }}.code = {{ code }}
        and {{ alias }}.language = '{{ var("sap_language", "E") }}'
{%- endmacro %}


{#-
    The items of SAP's sales or purchase orders (the two documents share their item layout) with
    their order's date, amounts shifted by their currency's decimals (TCURX) and converted to the
    reporting currency at the order-date rate, and the item-level quality rules
    (expectations/rules.yml). `order_key` is the column joining an item to its order.
-#}
{% macro sap_order_items_converted(items_relation, orders_relation, order_key) -%}
with

items as (

    select * from {{ items_relation }}

),

orders as (

    select * from {{ orders_relation }}

),

products as (

    select * from {{ ref('stg_sap__products') }}

),

decimals as (

    select * from {{ ref('stg_sap__currency_decimals') }}

),

currencies as (

    select distinct currency
    from {{ ref('stg_sap__currencies') }}
    where client = '{{ var("sap_client") }}'

),

shifted as (

    select
        {{ star_except(['_rule_failures'], 'items') }},
        items._rule_failures as _staging_failures,
        orders.order_date,
        orders.currency as order_currency,
        orders.{{ order_key }} is not null as has_order,
        products.product_id is not null as has_product,
        currencies.currency is not null as is_known_currency,
        {{ sap_external_amount('items.net_amount_stored', 'decimals.decimals') }} as net_amount,
        {{ sap_external_amount('items.gross_amount_stored', 'decimals.decimals') }} as gross_amount
    from items
    left join orders
        on items.{{ order_key }} = orders.{{ order_key }}
    left join products
        on items.product_id = products.product_id
    left join decimals
        on items.currency = decimals.currency
    left join currencies
        on items.currency = currencies.currency

),

converted as (

    select
        shifted.*,
        {{ sap_to_reporting('shifted.net_amount', 'shifted.currency', 'rate') }}
            as net_amount_reporting,
        rate.rate_type_used,
        rate.quoted_rate,
        rate.is_inverse_quotation
    from shifted
    {{ sap_join_rate('rate', 'shifted.currency', 'shifted.order_date') }}

)

select
    {{ star_except(['_staging_failures'], 'converted') }},
    {{ list_concat('converted._staging_failures', rule_failures([
        rule('sap_orphan_item', 'not converted.has_order'),
        rule('sap_unknown_product', 'not converted.has_product'),
        rule('sap_unknown_currency', 'not converted.is_known_currency'),
        rule('sap_missing_exchange_rate',
            'converted.has_order and converted.is_known_currency'
            ~ ' and converted.net_amount_reporting is null'),
        rule('sap_delivery_before_order', 'converted.promised_date < converted.order_date'),
        rule('sap_item_currency_differs', 'converted.currency <> converted.order_currency'),
    ])) }} as _rule_failures
from converted
{%- endmacro %}


{#-
    SAP order items (sales or purchase: the same layout) with every rule they break: their own
    and their order's, so that an order and its items leave the flow together.
-#}
{% macro sap_order_items_validated(items_relation, orders_relation, order_key) -%}
with

items as (

    select * from {{ items_relation }}

),

orders as (

    select
        {{ order_key }},
        _quarantined
    from {{ orders_relation }}

),

checked as (

    select
        {{ star_except(['_rule_failures'], 'items') }},
        {{ list_concat('items._rule_failures', rule_failures([
            rule('sap_order_quarantined', 'coalesce(orders._quarantined, false)'),
        ])) }} as _rule_failures
    from items
    left join orders
        on items.{{ order_key }} = orders.{{ order_key }}

)

select
    *,
    {{ is_quarantined('_rule_failures') }} as _quarantined
from checked
{%- endmacro %}
