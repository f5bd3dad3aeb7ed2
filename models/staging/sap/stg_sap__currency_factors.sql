-- SAP conversion factors (TCURF): FFACT units of the from-currency are quoted against TFACT units
-- of the to-currency; ABWCT names an alternative rate type to use for the pair.

with

source as (

    {{ raw_source('sap', 'currency_factors') }}

),

renamed as (

    select
        -- ids
        {{ sap_text('MANDT') }} as client,
        {{ sap_text('KURST') }} as rate_type,
        {{ sap_text('FCURR') }} as from_currency,
        {{ sap_text('TCURR') }} as to_currency,
        -- attributes
        {{ sap_text('ABWCT') }} as alternative_rate_type,
        -- amounts
        {{ sap_typed('FFACT', 'decimal(18, 0)') }} as from_factor,
        {{ sap_typed('TFACT', 'decimal(18, 0)') }} as to_factor,
        -- dates
        {{ sap_inverted_date('GDATU') }} as valid_from,
        -- lineage
        'sap' as source_system,
        _source_file,
        _source_row

    from source

)

select * from renamed
