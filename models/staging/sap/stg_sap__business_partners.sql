-- SAP business partners (customers and suppliers). PARTNERROLE comes as '1'/'2' while its
-- domain D_BP_ROLE in constants.csv writes '01'/'02': the code is padded to two digits here, so
-- that it decodes. Email and phone are personal data and stay in staging.

with

source as (

    {{ raw_source('sap', 'business_partners') }}

),

renamed as (

    select
        -- ids
        {{ sap_text('PARTNERID') }} as partner_id,
        {{ sap_text('ADDRESSES.ADDRESSID') }} as address_id,
        -- attributes
        lpad({{ sap_text('PARTNERROLE') }}, 2, '0') as partner_role_code,
        {{ sap_text('COMPANYNAME') }} as partner_name,
        {{ sap_text('LEGALFORM') }} as legal_form,
        {{ sap_text('CURRENCY') }} as currency,
        {{ sap_text('EMAILADDRESS') }} as email,
        {{ sap_text('PHONENUMBER') }} as phone,
        -- dates
        {{ sap_typed('HISTORY.CREATEDAT', 'date') }} as created_date,
        {{ sap_typed('HISTORY.CHANGEDAT', 'date') }} as changed_date,
        -- lineage
        'sap' as source_system,
        _source_file,
        _source_row

    from source

)

select * from renamed
