-- SAP's exchange rates resolved the way SAP converts: for each currency pair the rate type asked
-- for (var sap_rate_type, M) or the alternative TCURF names for the pair (ABWCT: M -> EURX for
-- conversions to EUR), with the TCURF ratio of the rate type used (100 JPY = 7.216 CNY), for the
-- client var sap_client. One row per pair and validity interval [valid_from, valid_to).
-- Assumes a pair's ratio does not change inside a rate's validity (true for this extract).

{%- set client = var('sap_client') %}
{%- set requested = var('sap_rate_type') %}

with

rates as (

    select
        rate_type,
        from_currency,
        to_currency,
        quoted_rate,
        valid_from,
        coalesce(
            lead(valid_from) over (
                partition by rate_type, from_currency, to_currency order by valid_from
            ),
            cast('9999-12-31' as date)
        ) as valid_to
    from {{ ref('stg_sap__exchange_rates') }}
    where client = '{{ client }}'

),

factors as (

    select
        rate_type,
        from_currency,
        to_currency,
        alternative_rate_type,
        from_factor,
        to_factor,
        valid_from,
        coalesce(
            lead(valid_from) over (
                partition by rate_type, from_currency, to_currency order by valid_from
            ),
            cast('9999-12-31' as date)
        ) as valid_to
    from {{ ref('stg_sap__currency_factors') }}
    where client = '{{ client }}'

),

routed as (

    -- the rate type each rate row would be used for: rows of the requested type, unless TCURF
    -- sends the pair to an alternative type; rows of that alternative type then
    select
        rates.*,
        requested_factors.alternative_rate_type
    from rates
    left join factors as requested_factors
        on requested_factors.rate_type = '{{ requested }}'
        and rates.from_currency = requested_factors.from_currency
        and rates.to_currency = requested_factors.to_currency
        and rates.valid_from >= requested_factors.valid_from
        and rates.valid_from < requested_factors.valid_to
    where rates.rate_type = coalesce(requested_factors.alternative_rate_type, '{{ requested }}')

),

final as (

    select
        -- ids
        routed.from_currency,
        routed.to_currency,
        -- attributes
        '{{ requested }}' as rate_type_requested,
        routed.rate_type as rate_type_used,
        routed.quoted_rate < 0 as is_inverse_quotation,
        -- amounts
        routed.quoted_rate,
        coalesce(used_factors.from_factor, 1) as from_factor,
        coalesce(used_factors.to_factor, 1) as to_factor,
        -- dates
        routed.valid_from,
        routed.valid_to

    from routed
    left join factors as used_factors
        on routed.rate_type = used_factors.rate_type
        and routed.from_currency = used_factors.from_currency
        and routed.to_currency = used_factors.to_currency
        and routed.valid_from >= used_factors.valid_from
        and routed.valid_from < used_factors.valid_to
    -- a zero rate or factor is not a rate
    where routed.quoted_rate <> 0

)

select * from final
