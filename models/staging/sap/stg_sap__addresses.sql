-- SAP addresses: the country and SAP's sales region (EMEA, AMER, APJ, AFR) of partners.

with

source as (

    {{ raw_source('sap', 'addresses') }}

),

renamed as (

    select
        -- ids
        {{ sap_text('ADDRESSID') }} as address_id,
        -- attributes
        {{ sap_text('CITY') }} as city,
        {{ sap_text('COUNTRY') }} as country,
        {{ sap_text('REGION') }} as region,
        {{ sap_text('ADDRESSTYPE') }} as address_type_code,
        -- dates
        {{ sap_typed('VALIDITY.STARTDATE', 'date') }} as valid_from,
        {{ sap_typed('VALIDITY.ENDDATE', 'date') }} as valid_to,
        -- lineage
        'sap' as source_system,
        _source_file,
        _source_row

    from source

)

select * from renamed
