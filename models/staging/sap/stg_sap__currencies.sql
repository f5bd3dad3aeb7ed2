-- SAP currency codes (TCURC): the currencies the system knows.

with

source as (

    {{ raw_source('sap', 'currencies') }}

),

renamed as (

    select
        -- ids
        {{ sap_text('MANDT') }} as client,
        {{ sap_text('WAERS') }} as currency,
        -- attributes
        {{ sap_text('ISOCD') }} as iso_code,
        -- lineage
        'sap' as source_system,
        _source_file,
        _source_row

    from source

)

select * from renamed
