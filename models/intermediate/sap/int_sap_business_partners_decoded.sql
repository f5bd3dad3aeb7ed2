-- SAP business partners with their role decoded through constants.csv (D_BP_ROLE: 01 customer,
-- 02 supplier) and their address's country and SAP region.

with

partners as (

    select * from {{ ref('stg_sap__business_partners') }}

),

addresses as (

    select * from {{ ref('stg_sap__addresses') }}

),

final as (

    select
        -- ids
        partners.partner_id,
        partners.address_id,
        -- attributes
        partners.partner_name,
        partners.legal_form,
        partners.partner_role_code,
        role.meaning as partner_role,
        partners.partner_role_code = '01' as is_customer,
        partners.partner_role_code = '02' as is_supplier,
        partners.currency,
        addresses.country,
        addresses.region,
        -- dates
        partners.created_date,
        -- lineage
        partners.source_system,
        partners._source_file,
        partners._source_row

    from partners
    left join addresses
        on partners.address_id = addresses.address_id
    {{ sap_join_constant('role', 'D_BP_ROLE', 'partners.partner_role_code') }}

)

select * from final
