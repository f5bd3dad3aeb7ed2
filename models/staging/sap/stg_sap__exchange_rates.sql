-- SAP exchange rates (TCURR): GDATU is the valid-from date inverted (99999999 - yyyymmdd); a
-- negative UKURS is an inverse quotation (units of the from-currency per unit of the to-currency).
-- TCURR's own FFACT/TFACT are 0 in this release: the ratios live in TCURF.

with

source as (

    {{ raw_source('sap', 'exchange_rates') }}

),

renamed as (

    select
        -- ids
        {{ sap_text('MANDT') }} as client,
        {{ sap_text('KURST') }} as rate_type,
        {{ sap_text('FCURR') }} as from_currency,
        {{ sap_text('TCURR') }} as to_currency,
        -- amounts
        {{ sap_typed('UKURS', 'decimal(18, 5)') }} as quoted_rate,
        -- dates
        {{ sap_text('GDATU') }} as valid_from_inverted,
        {{ sap_inverted_date('GDATU') }} as valid_from,
        -- lineage
        'sap' as source_system,
        _source_file,
        _source_row

    from source

)

select * from renamed
