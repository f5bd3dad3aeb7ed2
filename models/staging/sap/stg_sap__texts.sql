-- SAP language-dependent texts (product names and descriptions).

with

source as (

    {{ raw_source('sap', 'texts') }}

),

renamed as (

    select
        -- ids
        {{ sap_text('TEXTID') }} as text_id,
        {{ sap_text('LANGUAGE') }} as language,
        -- attributes
        {{ sap_text('TEXT') }} as text_value,
        -- lineage
        'sap' as source_system,
        _source_file,
        _source_row

    from source

)

select * from renamed
