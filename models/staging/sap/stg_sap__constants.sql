-- SAP status-code domains: each code with its meaning, once per language (E English, D German).

with

source as (

    {{ raw_source('sap', 'constants') }}

),

renamed as (

    select
        -- ids
        {{ sap_text('DOMAIN') }} as domain,
        {{ sap_text('FIXEDVALUE') }} as code,
        {{ sap_text('LANGUAGE') }} as language,
        -- attributes
        {{ sap_text('DESCRIPTION') }} as meaning,
        -- lineage
        'sap' as source_system,
        _source_file,
        _source_row

    from source

)

select * from renamed
