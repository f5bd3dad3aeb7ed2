-- SAP currency decimals (TCURX): only currencies with other than two decimals are listed.

with

source as (

    {{ raw_source('sap', 'currency_decimals') }}

),

renamed as (

    select
        -- ids
        {{ sap_text('CURRKEY') }} as currency,
        -- attributes
        {{ sap_typed('CURRDEC', 'integer') }} as decimals,
        -- lineage
        'sap' as source_system,
        _source_file,
        _source_row

    from source

)

select * from renamed
