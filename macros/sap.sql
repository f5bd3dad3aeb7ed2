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
